"""The day's digest: one :class:`Digest` record, rendered to several formats.

:func:`build_digest` gathers everything known about a day from the store;
renderers (``markdown``, ``jsonout`` and the delivery formats) only format it.
Later stages' enrichers add their results to each :class:`DigestEntry` (``judgment``,
``assessment``, ``signals``) and whole-day sections to ``Digest.sections``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .injection import flags
from .models import Paper, Reason
from .store import Store


class DigestEntry(BaseModel):
    rank: int
    paper: Paper
    score: float = Field(description="prefilter score")
    reasons: list[Reason] = Field(default_factory=list)
    # Filled by later stages when they ran for this day; None otherwise.
    judgment: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None
    signals: dict[str, Any] | None = None
    # Instruction-like sentences found in the title or abstract (kept out of every LLM prompt).
    flags: list[str] = Field(default_factory=list)


class Digest(BaseModel):
    day: dt.date
    generated_at: dt.datetime
    counts: dict[str, int] = Field(default_factory=dict)
    entries: list[DigestEntry] = Field(default_factory=list)
    # Whole-day extras, e.g. "usage" (LLM tokens/cost), "leaderboard", "trending".
    sections: dict[str, Any] = Field(default_factory=dict)
    # Which stage produced the order of entries: "prefilter", "judge", ...
    ranked_by: str = "prefilter"
    # Lines for the header: the shortlist's estimated recall, the run's cost
    # estimate, what a cost cap left out.
    notes: list[str] = Field(default_factory=list)


# Adds one part to a digest after the spine built it: (store, digest), mutating
# the digest. The pipeline passes the configured plugins' enrichers in plugin
# order, so the digest needs no knowledge of the stages that fill it.
Enricher = Callable[[Store, "Digest"], None]


def build_digest(store: Store, day: dt.date, enrichers: Sequence[Enricher] = ()) -> Digest:
    shortlist = store.candidates_for_day(day)
    seen = store.candidates_seen(day)
    digest = Digest(
        day=day,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        counts={"seen": seen, "shortlisted": len(shortlist)},
        entries=[
            DigestEntry(rank=i + 1, paper=c.paper, score=round(c.score, 4), reasons=c.reasons, flags=flags(c.paper))
            for i, c in enumerate(shortlist)
        ],
    )
    _attach_locations(store, digest)
    for fn in enrichers:
        fn(store, digest)
    return digest


def _attach_locations(store: Store, digest: Digest) -> None:
    from .works import Works  # late: works imports the store, as this module does

    papers = Works(store).attach([e.paper for e in digest.entries])
    for entry, paper in zip(digest.entries, papers, strict=True):
        entry.paper = paper


def digest_paths(output_dir: Path, day: dt.date) -> dict[str, Path]:
    stem = output_dir / day.isoformat()
    return {"markdown": stem / "digest.md", "json": stem / "digest.json"}
