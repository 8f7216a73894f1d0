"""Trending papers and discussion badges, from the stored signals.

A paper's trending score adds, over every HF listing and HN story about it
in the window, its latest (upvotes or points + comments), halved for every
``half_life_days`` of the story's age. The digest gets a "trending" section
and each entry a ``signals`` dict (keys in :data:`ENTRY_KEYS`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass
from typing import Any

from ..core.config import SignalsConfig
from ..core.digest import Digest, Enricher
from ..core.hookspecs import hookimpl
from ..core.store import Store
from .client import Signal
from .collect import latest_signals

# What DigestEntry.signals holds (any key may be missing when its source has nothing):
ENTRY_KEYS = {
    "upvotes": "Hugging Face Daily Papers upvotes (int)",
    "points": "Hacker News points, best story (int)",
    "comments": "comments across HF and HN (int)",
    "hf_url": "the paper's Hugging Face page",
    "hn_url": "the most-commented Hacker News thread",
    "thread_url": "where the discussion is: hn_url, else hf_url when it has comments",
    "discussed": "true when a thread exists (render a 'discussed' badge linking thread_url)",
    "github": "code repository named on Hugging Face",
    "trending_rank": "1-based position in the day's trending section, if any",
    "trending_score": "decayed signal score (float)",
}


@dataclass
class PaperSignals:
    arxiv_id: str
    title: str
    score: float = 0.0
    upvotes: int | None = None
    points: int | None = None
    comments: int = 0
    hf_url: str | None = None
    hn_url: str | None = None
    github: str | None = None
    _hn_comments: int = -1
    _hf_comments: int = 0

    @property
    def thread_url(self) -> str | None:
        if self.hn_url:
            return self.hn_url
        return self.hf_url if self._hf_comments > 0 else None

    def entry_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_") and v is not None}
        d.pop("arxiv_id")
        d.pop("title")
        d["trending_score"] = round(d.pop("score"), 2)
        d["thread_url"] = self.thread_url
        d["discussed"] = self.thread_url is not None
        return {k: v for k, v in d.items() if v is not None}


def decay(age_days: float, half_life_days: float) -> float:
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def summarize(
    signals: list[Signal], until: dt.datetime, half_life_days: float, titles: dict[str, str]
) -> dict[str, PaperSignals]:
    out: dict[str, PaperSignals] = {}
    for s in signals:
        ps = out.setdefault(
            s.arxiv_id, PaperSignals(s.arxiv_id, titles.get(s.arxiv_id) or s.extra.get("title") or s.arxiv_id)
        )
        posted = s.posted_at or s.observed_at
        age = (until - posted).total_seconds() / 86400
        ps.score += (s.value + s.comments) * decay(age, half_life_days)
        if s.source == "hf":
            # A paper can sit on several days' listings; its upvotes are one count.
            ps.upvotes = max(ps.upvotes or 0, s.value)
            ps.hf_url = s.url
            ps._hf_comments = max(ps._hf_comments, s.comments)
            ps.github = ps.github or s.extra.get("github")
        else:
            ps.points = max(ps.points or 0, s.value)
            if s.comments > ps._hn_comments:
                ps._hn_comments, ps.hn_url = s.comments, s.url
    for ps in out.values():
        # HF repeats one thread on each day's listing, so its count is taken once.
        ps.comments = max(ps._hn_comments, 0) + ps._hf_comments
    return out


def day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def paper_signals(
    store: Store, day: dt.date, settings: SignalsConfig, arxiv_ids: list[str] | None = None
) -> dict[str, PaperSignals]:
    """Signals as they stood at the end of ``day``: rebuilding an old digest gives the same answer."""
    until = day_end(day)
    since = until - dt.timedelta(days=settings.window_days)
    signals = latest_signals(store, until=until, since=since, arxiv_ids=arxiv_ids)
    titles = store.titles(sorted({s.arxiv_id for s in signals}))
    return summarize(signals, until, settings.half_life_days, titles)


def entry_signals(store: Store, arxiv_id: str, settings: SignalsConfig, day: dt.date | None = None) -> dict | None:
    """One paper's discussion links and trending figures as of ``day`` (today), as a digest entry holds them."""
    found = paper_signals(store, day or dt.date.today(), settings, arxiv_ids=[arxiv_id]).get(arxiv_id)
    return found.entry_dict() if found else None


def trending(store: Store, day: dt.date, settings: SignalsConfig) -> list[PaperSignals]:
    ranked = sorted(paper_signals(store, day, settings).values(), key=lambda p: (-p.score, p.arxiv_id))
    return [p for p in ranked if p.score > 0][: settings.trending_size]


def add_signals(store: Store, digest: Digest, settings: SignalsConfig) -> None:
    """Trending section plus per-entry signals; a store with no signals leaves the digest alone."""
    if not settings.sources:
        return
    top = trending(store, digest.day, settings)
    ranks = {p.arxiv_id: i + 1 for i, p in enumerate(top)}
    in_digest = {e.paper.arxiv_id: e.rank for e in digest.entries}
    ids = [e.paper.arxiv_id for e in digest.entries]
    for arxiv_id, ps in paper_signals(store, digest.day, settings, arxiv_ids=ids).items():
        entry = next(e for e in digest.entries if e.paper.arxiv_id == arxiv_id)
        entry.signals = {**(entry.signals or {}), **ps.entry_dict()}
        if arxiv_id in ranks:
            entry.signals["trending_rank"] = ranks[arxiv_id]
    if top:
        digest.sections["trending"] = [
            {
                "arxiv_id": p.arxiv_id,
                "title": p.title,
                "abs_url": f"https://arxiv.org/abs/{p.arxiv_id}",
                "digest_rank": in_digest.get(p.arxiv_id),
                **p.entry_dict(),
            }
            for p in top
        ]


def signals_enricher(settings: SignalsConfig) -> Enricher:
    """``add_signals`` with the window, half-life and sources of ``[signals]``."""
    return functools.partial(add_signals, settings=settings)


@hookimpl
def register_digest_enrichers(config):
    return [signals_enricher(config.signals)]
