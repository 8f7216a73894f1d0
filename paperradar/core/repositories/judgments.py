"""The judge's verdicts (``judgments``): one row per paper and day, the latest answer wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..db import Database
from .sql import upsert

# The columns a verdict is written with; score, selected and sort come from the selection step.
_NAMES = (
    "day",
    "arxiv_id",
    "model",
    "stage",
    "criteria_hash",
    "relevance",
    "novelty",
    "criterion",
    "comment",
    "status",
    "error",
    "call_id",
    "created_at",
)
_COLUMNS = ", ".join(_NAMES)
_MARKS = ",".join("?" * len(_NAMES))


@dataclass(frozen=True)
class Judgment:
    """A paper's verdict for a day.

    ``status`` is ok, failed (``error`` says why) or title-rejected. ``score``,
    ``selected`` and ``sort`` are filled in by the selection step, ``backend``
    (from the LLM call the scores came from) when read back.
    """

    day: str
    arxiv_id: str
    model: str
    stage: str
    criteria_hash: str
    status: str
    created_at: str
    relevance: int | None = None
    novelty: int | None = None
    criterion: str | None = None
    comment: str | None = None
    error: str | None = None
    call_id: int | None = None
    score: float | None = None
    selected: bool = False
    sort: str | None = None
    backend: str | None = None


@dataclass(frozen=True)
class Selection:
    """What the selection step decides for one judged paper."""

    arxiv_id: str
    score: float | None
    selected: bool


class JudgmentRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # the rows read and written are this profile's

    def save(self, verdicts: Iterable[Judgment]) -> None:
        """Store verdicts, replacing any earlier one for the same paper and day."""
        rows = [(self.profile_id, *(getattr(j, name) for name in _NAMES)) for j in verdicts]
        with self.db.transaction() as conn:
            conn.executemany(upsert("judgments", ("profile_id", *_NAMES), ("profile_id", "day", "arxiv_id")), rows)

    def reusable(self, day: dt.date, model: str, criteria_hash: str) -> set[str]:
        """Papers of ``day`` already judged (or title-rejected) by ``model`` under these criteria."""
        rows = self.db.conn.execute(
            "SELECT arxiv_id FROM judgments WHERE profile_id = ? AND day = ? AND model = ? AND criteria_hash = ? "
            "AND status IN ('ok', 'title-rejected')",
            (self.profile_id, day.isoformat(), model, criteria_hash),
        )
        return {r[0] for r in rows}

    def select(self, day: dt.date, sort: str, decide: Callable[[Judgment], Selection]) -> int:
        """Store ``decide``'s score and choice for each of the day's verdicts; returns how many were selected.

        Read and written in one transaction, so a verdict saved meanwhile is
        not left without a score.
        """
        with self.db.transaction() as conn:
            cur = conn.execute(
                f"SELECT {_COLUMNS} FROM judgments WHERE profile_id = ? AND day = ?", (self.profile_id, day.isoformat())
            )
            chosen = [decide(Judgment(**dict(zip(_NAMES, r, strict=True)))) for r in cur.fetchall()]
            conn.executemany(
                "UPDATE judgments SET score = ?, selected = ?, sort = ? "
                "WHERE profile_id = ? AND day = ? AND arxiv_id = ?",
                [(c.score, int(c.selected), sort, self.profile_id, day.isoformat(), c.arxiv_id) for c in chosen],
            )
        return sum(c.selected for c in chosen)

    def for_day(self, day: dt.date | str) -> list[Judgment]:
        """The day's verdicts, best first by the stored combined score (selected ones first)."""
        return self._read(
            "j.day = ?", (str(day),), "j.selected DESC, j.score IS NULL, j.score DESC, j.relevance DESC, j.arxiv_id"
        )

    def for_paper(self, arxiv_id: str) -> list[Judgment]:
        """Every verdict on one paper, newest day first."""
        return self._read("j.arxiv_id = ?", (arxiv_id,), "j.day DESC")

    def _read(self, where: str, params: tuple, order: str) -> list[Judgment]:
        cols = ", ".join(f"j.{c}" for c in _NAMES)
        cur = self.db.conn.execute(
            f"SELECT {cols}, j.score, j.selected, j.sort, c.backend FROM judgments j "
            f"LEFT JOIN llm_calls c ON c.id = j.call_id WHERE j.profile_id = ? AND {where} ORDER BY {order}",
            (self.profile_id, *params),
        )
        out = []
        for r in cur.fetchall():
            fields = dict(zip(_NAMES, r[: len(_NAMES)], strict=True))
            score, selected, sort, backend = r[len(_NAMES) :]
            out.append(Judgment(**fields, score=score, selected=bool(selected), sort=sort, backend=backend))
        return out
