"""Feedback on papers: 👍/👎, saves and notes, as an append-only log.

Every click is a row of ``feedback`` (see migration m009); the
``feedback_state`` view gives each paper's current vote, saved flag and note.
The web app writes here, ``paperradar feedback export`` and ``/feedback.csv``
read it, and :mod:`paperradar.stages.learn` trains on :func:`feedback_labels`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

from .errors import PaperradarError
from .store import Store, utcnow

Kind = Literal["up", "down", "save", "clear", "unsave", "note"]
KINDS: tuple[str, ...] = ("up", "down", "save", "clear", "unsave", "note")
MAX_NOTE = 2000


class FeedbackError(PaperradarError):
    """Feedback for an unknown paper, or of an unknown kind."""


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


def record(store: Store, arxiv_id: str, kind: str, note: str | None = None) -> FeedbackState:
    """Append one feedback event and return the paper's new state."""
    if kind not in KINDS:
        raise FeedbackError(f"{kind!r} is not a kind of feedback; use one of {', '.join(KINDS)}.")
    if store.conn.execute("SELECT 1 FROM papers WHERE arxiv_id = ?", (arxiv_id,)).fetchone() is None:
        raise FeedbackError(f"No paper {arxiv_id!r} in the database; feedback needs a stored paper.")
    if note is not None:
        note = note.strip()[:MAX_NOTE]
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO feedback (arxiv_id, kind, created_at, note) VALUES (?,?,?,?)",
            (arxiv_id, kind, utcnow(), note),
        )
    return state(store, arxiv_id)


def toggle(store: Store, arxiv_id: str, kind: str) -> FeedbackState:
    """What a button does: 👍 on a 👍'd paper takes the vote back, save on a saved one unsaves."""
    current = state(store, arxiv_id)
    if kind in ("up", "down") and current.vote == kind:
        kind = "clear"
    elif kind == "save" and current.saved:
        kind = "unsave"
    return record(store, arxiv_id, kind)


def _row(r: tuple) -> FeedbackState:
    return FeedbackState(arxiv_id=r[0], vote=r[1], saved=bool(r[2]), note=r[3], updated_at=r[4], title=r[5])


_STATE_SQL = (
    "SELECT s.arxiv_id, s.vote, s.saved, s.note, s.updated_at, p.title "
    "FROM feedback_state s LEFT JOIN papers p ON p.arxiv_id = s.arxiv_id"
)


def state(store: Store, arxiv_id: str) -> FeedbackState:
    row = store.conn.execute(f"{_STATE_SQL} WHERE s.arxiv_id = ?", (arxiv_id,)).fetchone()
    return _row(row) if row else FeedbackState(arxiv_id=arxiv_id)


def states(store: Store, arxiv_ids: list[str] | None = None) -> dict[str, FeedbackState]:
    """Current state of the given papers (all papers with feedback when None)."""
    if arxiv_ids is None:
        return {r[0]: _row(r) for r in store.conn.execute(_STATE_SQL)}
    out: dict[str, FeedbackState] = {}
    for start in range(0, len(arxiv_ids), 500):
        chunk = arxiv_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out.update({r[0]: _row(r) for r in store.conn.execute(f"{_STATE_SQL} WHERE s.arxiv_id IN ({marks})", chunk)})
    return out


def all_states(store: Store, *, only: str | None = None) -> list[FeedbackState]:
    """Papers with an opinion, most recent first; ``only`` = "up", "down" or "saved"."""
    where = {"up": "WHERE s.vote = 'up'", "down": "WHERE s.vote = 'down'", "saved": "WHERE s.saved = 1"}.get(
        only or "", "WHERE s.vote IS NOT NULL OR s.saved = 1 OR s.note IS NOT NULL AND s.note != ''"
    )
    return [_row(r) for r in store.conn.execute(f"{_STATE_SQL} {where} ORDER BY s.updated_at DESC, s.arxiv_id")]


def feedback_labels(store: Store) -> dict[str, int]:
    """arXiv id -> +1 (👍 or saved) / -1 (👎), for the learned profile."""
    return {s.arxiv_id: s.label for s in states(store).values() if s.label is not None}


def _cell(value: object) -> str:
    # A title starting with = + - @ would run as a formula in a spreadsheet.
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(store: Store, *, events: bool = False) -> str:
    """Current state per paper (or, with ``events``, every click) as CSV text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if events:
        w.writerow(["id", "arxiv_id", "kind", "created_at", "note", "title"])
        for r in store.conn.execute(
            "SELECT f.id, f.arxiv_id, f.kind, f.created_at, f.note, p.title FROM feedback f "
            "LEFT JOIN papers p ON p.arxiv_id = f.arxiv_id ORDER BY f.id"
        ):
            w.writerow([_cell(x) for x in r])
    else:
        w.writerow(["arxiv_id", "label", "vote", "saved", "note", "updated_at", "title"])
        for s in sorted(states(store).values(), key=lambda s: s.arxiv_id):
            w.writerow(
                [
                    _cell(x)
                    for x in (s.arxiv_id, s.label or 0, s.vote or "", int(s.saved), s.note, s.updated_at, s.title)
                ]
            )
    return buf.getvalue()
