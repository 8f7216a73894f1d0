"""Feedback: the append-only log of clicks and the per-paper state the ``feedback_state`` view derives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..db import Database
from .chunks import chunks


@dataclass
class FeedbackState:
    arxiv_id: str
    vote: str | None = None  # "up", "down" or None
    saved: bool = False
    note: str | None = None
    updated_at: str | None = None
    title: str | None = None

    @property
    def label(self) -> int | None:
        """+1 liked, -1 disliked, None no opinion: an explicit vote wins over a save."""
        if self.vote == "up":
            return 1
        if self.vote == "down":
            return -1
        return 1 if self.saved else None


@dataclass(frozen=True)
class FeedbackEvent:
    """One click, as logged."""

    id: int
    arxiv_id: str
    kind: str
    created_at: str
    note: str | None
    title: str | None  # of the paper, when it is still stored


# Every query adds "WHERE s.profile_id = ?" (the repository's profile) before its own conditions.
_STATE_SQL = (
    "SELECT s.arxiv_id, s.vote, s.saved, s.note, s.updated_at, p.title "
    "FROM feedback_state s LEFT JOIN papers p ON p.arxiv_id = s.arxiv_id WHERE s.profile_id = ?"
)

# Which papers each ``only`` filter of :meth:`FeedbackRepository.opinions` lists.
_OPINION_FILTERS = {"up": "AND s.vote = 'up'", "down": "AND s.vote = 'down'", "saved": "AND s.saved = 1"}
_ANY_OPINION = "AND (s.vote IS NOT NULL OR s.saved = 1 OR s.note IS NOT NULL AND s.note != '')"


def _state(r: Sequence) -> FeedbackState:
    return FeedbackState(arxiv_id=r[0], vote=r[1], saved=bool(r[2]), note=r[3], updated_at=r[4], title=r[5])


class FeedbackRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # the rows read and written are this profile's

    def add(self, arxiv_id: str, kind: str, note: str | None, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback (profile_id, arxiv_id, kind, created_at, note) VALUES (?,?,?,?,?)",
                (self.profile_id, arxiv_id, kind, at, note),
            )

    def state(self, arxiv_id: str) -> FeedbackState | None:
        row = self.db.conn.execute(f"{_STATE_SQL} AND s.arxiv_id = ?", (self.profile_id, arxiv_id)).fetchone()
        return _state(row) if row else None

    def states(self, arxiv_ids: Sequence[str] | None = None) -> dict[str, FeedbackState]:
        """The state of each of ``arxiv_ids`` that has feedback (of every such paper when None)."""
        if arxiv_ids is None:
            return {r[0]: _state(r) for r in self.db.conn.execute(_STATE_SQL, (self.profile_id,))}
        out: dict[str, FeedbackState] = {}
        for chunk, marks in chunks(arxiv_ids):
            out.update(
                {
                    r[0]: _state(r)
                    for r in self.db.conn.execute(
                        f"{_STATE_SQL} AND s.arxiv_id IN ({marks})", (self.profile_id, *chunk)
                    )
                }
            )
        return out

    def opinions(self, only: str | None = None) -> list[FeedbackState]:
        """Papers with a vote, a save or a note, most recent first; ``only`` = "up", "down" or "saved"."""
        where = _OPINION_FILTERS.get(only or "", _ANY_OPINION)
        return [
            _state(r)
            for r in self.db.conn.execute(
                f"{_STATE_SQL} {where} ORDER BY s.updated_at DESC, s.arxiv_id", (self.profile_id,)
            )
        ]

    def events(self) -> list[FeedbackEvent]:
        """Every click, oldest first."""
        return [
            FeedbackEvent(*r)
            for r in self.db.conn.execute(
                "SELECT f.id, f.arxiv_id, f.kind, f.created_at, f.note, p.title FROM feedback f "
                "LEFT JOIN papers p ON p.arxiv_id = f.arxiv_id WHERE f.profile_id = ? ORDER BY f.id",
                (self.profile_id,),
            )
        ]
