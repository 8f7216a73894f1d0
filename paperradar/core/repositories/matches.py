"""Pairwise tournament verdicts, the rounds planned for them, and the papers a day's pool holds.

A match is stored once per ordered pair and model and belongs to no pool in
particular, so a weekly leaderboard reuses every daily match between its
papers; storing the same ordered pair again is a no-op, which is what lets a
rerun (or a second process) never buy the same comparison twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..db import Database
from .chunks import chunks

Side = Literal["first", "second"]
Result = Literal["win", "loss", "tie"]


@dataclass(frozen=True)
class Match:
    id: int
    first_id: str
    second_id: str
    model: str
    outcome: str  # "first", "second" (the winner's position) or "tie"
    reason: str
    created_at: str
    pool: str = ""

    def side(self, arxiv_id: str) -> Side:
        """Where ``arxiv_id`` was shown (it must be one of the two papers)."""
        return "first" if self.first_id == arxiv_id else "second"

    def opponent(self, arxiv_id: str) -> str:
        return self.second_id if self.side(arxiv_id) == "first" else self.first_id

    def result(self, side: Side) -> Result:
        """The match as the paper shown at ``side`` played it."""
        if self.outcome == "tie":
            return "tie"
        return "win" if self.outcome == side else "loss"


@dataclass(frozen=True)
class PaperMatch:
    """One comparison seen from one paper's side, with the opponent's title for display."""

    match: Match
    shown: Side
    opponent: str
    opponent_title: str | None
    result: Result

    # The web page reads these straight from the record.
    @property
    def model(self) -> str:
        return self.match.model

    @property
    def reason(self) -> str:
        return self.match.reason

    @property
    def pool(self) -> str:
        return self.match.pool


@dataclass(frozen=True)
class PlannedPair:
    round: int
    first_id: str
    second_id: str


_COLS = "id, first_id, second_id, model, outcome, reason, created_at, pool"


class MatchRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        *,
        first_id: str,
        second_id: str,
        model: str,
        outcome: str,
        reason: str,
        pool: str,
        call_id: int | None,
        created_at: str,
    ) -> bool:
        """Store a verdict; False when that ordered pair already has one from this model."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO matches (first_id, second_id, model, outcome, reason, pool, call_id, "
                "created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (first_id, second_id, model, outcome, reason, pool, call_id, created_at),
            )
            return cur.rowcount == 1

    def among(self, ids: Sequence[str], model: str | None = None) -> list[Match]:
        """Every stored match between two papers of ``ids`` (of ``model`` only, when given), oldest first."""
        if len(ids) < 2:
            return []
        wanted = set(ids)
        found: dict[int, Match] = {}
        extra, params = ("AND model = ?", [model]) if model else ("", [])
        for chunk, marks in chunks(ids):
            for r in self.db.conn.execute(
                f"SELECT {_COLS} FROM matches WHERE first_id IN ({marks}) {extra} ORDER BY id", (*chunk, *params)
            ):
                if r[2] in wanted:
                    found[r[0]] = Match(*r)
        return [found[k] for k in sorted(found)]

    def for_paper(self, arxiv_id: str) -> list[PaperMatch]:
        """Every comparison the paper was in, from its side, oldest first."""
        rows = self.db.conn.execute(
            f"SELECT {', '.join('m.' + c for c in _COLS.split(', '))}, p.title FROM matches m "
            "LEFT JOIN papers p ON p.arxiv_id = CASE WHEN m.first_id = ? THEN m.second_id ELSE m.first_id END "
            "WHERE m.first_id = ? OR m.second_id = ? ORDER BY m.id",
            (arxiv_id, arxiv_id, arxiv_id),
        ).fetchall()
        out = []
        for r in rows:
            m = Match(*r[:-1])
            side = m.side(arxiv_id)
            out.append(PaperMatch(m, side, m.opponent(arxiv_id), r[-1], m.result(side)))
        return out

    # -- rounds written before they are paid for --------------------------------------------

    def planned(self, pool: str, model: str) -> list[PlannedPair]:
        """The pool's scheduled comparisons for ``model``, in schedule order."""
        rows = self.db.conn.execute(
            "SELECT round, first_id, second_id FROM tournament_plans WHERE pool = ? AND model = ? ORDER BY round, slot",
            (pool, model),
        )
        return [PlannedPair(*r) for r in rows]

    def save_plan(
        self, pool: str, model: str, round_no: int, pairs: Sequence[tuple[str, str]], *, created_at: str
    ) -> None:
        """Record a round before any of it is paid for, so a crash resumes exactly this round."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO tournament_plans (pool, model, round, slot, first_id, second_id, created_at) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                [(pool, model, round_no, i, a, b, created_at) for i, (a, b) in enumerate(pairs)],
            )

    # -- pools ------------------------------------------------------------------------------

    def picks(self, day: dt.date) -> list[str]:
        """The judge's picks of ``day`` best first, or the prefilter shortlist where the judge did not run.

        The picks of every profile: the impact tournament is shared by the lab.
        """
        rows = self.db.conn.execute(
            "SELECT arxiv_id FROM judgments WHERE day = ? AND selected = 1 GROUP BY arxiv_id "
            "ORDER BY MAX(score) DESC, arxiv_id",
            (day.isoformat(),),
        ).fetchall()
        if not rows:
            rows = self.db.conn.execute(
                "SELECT arxiv_id FROM candidates WHERE day = ? AND shortlisted = 1 GROUP BY arxiv_id "
                "ORDER BY MIN(rank), arxiv_id",
                (day.isoformat(),),
            ).fetchall()
        return [r[0] for r in rows]
