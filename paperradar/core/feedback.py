"""Feedback on papers: 👍/👎, saves and notes, as an append-only log.

Every click is a row of ``feedback`` (see migration m009); the
``feedback_state`` view gives each paper's current vote, saved flag and note.
The web app writes here, ``paperradar feedback export`` and ``/feedback.csv``
read it, and :mod:`paperradar.stages.learn` trains on :func:`feedback_labels`.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from .errors import PaperradarError
from .repositories.feedback import FeedbackState
from .store import Store, utcnow

Kind = Literal["up", "down", "save", "clear", "unsave", "note"]
KINDS: tuple[str, ...] = ("up", "down", "save", "clear", "unsave", "note")
MAX_NOTE = 2000


class FeedbackError(PaperradarError):
    """Feedback for an unknown paper, or of an unknown kind."""


def record(store: Store, arxiv_id: str, kind: str, note: str | None = None) -> FeedbackState:
    """Append one feedback event and return the paper's new state."""
    if kind not in KINDS:
        raise FeedbackError(f"{kind!r} is not a kind of feedback; use one of {', '.join(KINDS)}.")
    if not store.works.has_paper(arxiv_id):
        raise FeedbackError(f"No paper {arxiv_id!r} in the database; feedback needs a stored paper.")
    if note is not None:
        note = note.strip()[:MAX_NOTE]
    store.feedback.add(arxiv_id, kind, note, utcnow())
    return state(store, arxiv_id)


def toggle(store: Store, arxiv_id: str, kind: str) -> FeedbackState:
    """What a button does: 👍 on a 👍'd paper takes the vote back, save on a saved one unsaves."""
    current = state(store, arxiv_id)
    if kind in ("up", "down") and current.vote == kind:
        kind = "clear"
    elif kind == "save" and current.saved:
        kind = "unsave"
    return record(store, arxiv_id, kind)


def state(store: Store, arxiv_id: str) -> FeedbackState:
    return store.feedback.state(arxiv_id) or FeedbackState(arxiv_id=arxiv_id)


def states(store: Store, arxiv_ids: list[str] | None = None) -> dict[str, FeedbackState]:
    """Current state of the given papers (all papers with feedback when None)."""
    return store.feedback.states(arxiv_ids)


def all_states(store: Store, *, only: str | None = None) -> list[FeedbackState]:
    """Papers with an opinion, most recent first; ``only`` = "up", "down" or "saved"."""
    return store.feedback.opinions(only)


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
        for e in store.feedback.events():
            w.writerow([_cell(x) for x in (e.id, e.arxiv_id, e.kind, e.created_at, e.note, e.title)])
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
