"""Digests built from records for the delivery tests: realistic, with hostile text."""

from __future__ import annotations

import datetime as dt

from paperradar.core.digest import Digest, DigestEntry
from paperradar.core.models import Paper, Reason

DAY = dt.date(2026, 2, 24)
HOSTILE_TITLE = 'Attention <script>alert("x")</script> & "Friends" \\frac{1}{2'
HOSTILE_ABSTRACT = (
    "We show $\\mathcal{O}(n^{2}$ bounds </div><img src=x onerror=alert(1)> for <b>bold</b> claims "
    "and an unclosed \\begin{align} environment.\x0c Control chars\x00 are dropped. <!channel> @here"
)
HOSTILE_AUTHOR = "Eve <eve@evil.example>"


def entry(rank: int, arxiv_id: str, title: str, abstract: str, authors=("Ada Lovelace",), **kw) -> DigestEntry:
    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=list(authors),
        categories=kw.pop("categories", ["cs.LG", "stat.ML"]),
        primary_category="cs.LG",
        announced=kw.pop("day", DAY),
        announce_type=kw.pop("announce_type", "new"),
        comment=kw.pop("comment", None),
    )
    reasons = kw.pop("reasons", [Reason(kind="criterion", label="Training dynamics", score=2.31)])
    return DigestEntry(rank=rank, paper=paper, score=kw.pop("score", 3.0 - rank / 10), reasons=reasons, **kw)


def sample_digest(day: dt.date = DAY, *, n_extra: int = 2, sections: dict | None = None) -> Digest:
    entries = [
        entry(
            1,
            "2602.11111",
            "Grokking Is a Phase Transition in Sharpness",
            "Delayed generalization in small transformers follows a collapse of loss-landscape sharpness "
            "driven by weight decay; we measure it across learning-rate schedules.",
            authors=("Ada Lovelace", "Alan Turing"),
            # Shapes as paperradar.stages.judge / paperradar.signals.trending write them.
            judgment={
                "relevance": 9,
                "novelty": 7,
                "criterion": "Training dynamics",
                "comment": "Directly about training dynamics; the sharpness measurements are new.",
                "status": "ok",
                "error": None,
                "score": 16.0,
                "model": "gpt-4o-mini",
                "stage": "judge",
                "source": "judge stage, gpt-4o-mini (openai)",
            },
            signals={
                "upvotes": 42,
                "points": 130,
                "comments": 57,
                "hf_url": "https://huggingface.co/papers/2602.11111",
                "hn_url": "https://news.ycombinator.com/item?id=1",
                "thread_url": "https://news.ycombinator.com/item?id=1",
                "discussed": True,
                "github": "https://github.com/example/grok",
                "trending_rank": 2,
                "trending_score": 88.5,
            },
            comment="12 pages, 5 figures",
        ),
        entry(
            2,
            "2602.22222",
            HOSTILE_TITLE,
            HOSTILE_ABSTRACT,
            authors=(HOSTILE_AUTHOR, "Mallory O'Brien"),
            judgment={"relevance": 6, "novelty": 5, "comment": "Claims <script>steal()</script> nothing useful."},
            assessment={
                "contribution": "A <em>new</em> attention variant.",
                "strengths": ["clear ablations", "code </li><script>x()</script>"],
                "concerns": ["small scale"],
                "impact": "Moderate.",
                "audience": "Efficiency researchers",
                "significance": 6,
                "rigor": 7,
                "novelty": 5,
                "clarity": 8,
                "overall": 6,
                "arxiv_id": "2602.22222",
                "model": "gpt-4o",
                "generated": "2026-02-24",
                "verdict": "solid <em>empirics</em>",
            },
            reasons=[
                Reason(kind="keyword", label="attention", score=0.75),
                Reason(kind="author", label="Eve <script>", score=2.0),
            ],
            announce_type="cross",
        ),
    ]
    for i in range(n_extra):
        entries.append(
            entry(
                3 + i,
                f"2602.{30000 + i:05d}",
                f"Learning-Rate Warmup Revisited, Part {i + 1}",
                "We revisit warmup for adaptive optimizers and find that its benefit comes from limiting "
                "the update size early in training, not from variance reduction. " * 2,
                authors=[f"Author {k}" for k in range(15)],
            )
        )
    return Digest(
        day=day,
        generated_at=dt.datetime(2026, 2, 24, 2, 15, tzinfo=dt.UTC),
        counts={"seen": 412, "shortlisted": len(entries)},
        entries=entries,
        sections=sections
        if sections is not None
        else {
            "trending": [
                {
                    "arxiv_id": "2602.99999",
                    "title": "Trending <b>paper</b>",
                    "abs_url": "https://arxiv.org/abs/2602.99999",
                    "digest_rank": None,
                    "upvotes": 120,
                    "points": 88,
                    "hf_url": "https://huggingface.co/papers/2602.99999",
                },
                {
                    "arxiv_id": "2602.11111",
                    "title": "Grokking Is a Phase Transition in Sharpness",
                    "abs_url": "https://arxiv.org/abs/2602.11111",
                    "digest_rank": 1,
                    "upvotes": 42,
                },
            ],
            # As paperradar.stages.tournament writes it: a list of Leaderboard.as_dict().
            "leaderboard": [
                {
                    "pool": "shortlist 2026-02-24",
                    "matches": 24,
                    "ssr": 0.71,
                    "coherence": 0.55,
                    "first_position_win_rate": 0.52,
                    "position_bias": 0.03,
                    "position_bias_se": 0.1,
                    "order_consistency": 0.8,
                    "rows": [
                        {
                            "rank": 1,
                            "arxiv_id": "2602.11111",
                            "title": "Grokking Is a Phase Transition in Sharpness",
                            "url": "https://arxiv.org/abs/2602.11111",
                            "rating": 1612.4,
                            "uncertainty": 48.2,
                            "wins": 5,
                            "losses": 1,
                            "ties": 0,
                            "matches": 6,
                            "win_rate": 0.83,
                            "overall": 8,
                            "games": [
                                {
                                    "match_id": 1,
                                    "opponent": "2602.22222",
                                    "result": "win",
                                    "shown": "first",
                                    "reason": "Sharper <i>claims</i>, better evidence.",
                                }
                            ],
                        },
                        {
                            "rank": 2,
                            "arxiv_id": "2602.22222",
                            "title": HOSTILE_TITLE,
                            "url": "https://arxiv.org/abs/2602.22222",
                            "rating": 1490.0,
                            "uncertainty": 51.0,
                            "wins": 1,
                            "losses": 5,
                            "ties": 0,
                            "matches": 6,
                            "win_rate": 0.17,
                            "overall": None,
                            "games": [],
                        },
                    ],
                }
            ],
            "usage": [
                {
                    "model": "gpt-4o-mini",
                    "backend": "openai",
                    "calls": 30,
                    "cached": 4,
                    "input_tokens": 12000,
                    "output_tokens": 900,
                    "total_tokens": 12900,
                    "cost_usd": 0.0123,
                },
            ],
        },
        ranked_by="judge",
    )
