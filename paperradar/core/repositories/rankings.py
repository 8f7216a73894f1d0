"""k-wise verdicts: one row per LLM call that ranked several papers, its plans, and each pool's reader.

A ranking is keyed by question, reader, model and the papers in the order
shown: storing it again is a no-op, which is what lets a rerun (or a second
process) never buy the same call twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..db import Database
from .chunks import chunks


@dataclass(frozen=True)
class Ranking:
    id: int
    question: str
    profile_key: str
    model: str
    shown: list[str]
    ranked: list[str]
    reason: str
    pool: str
    created_at: str


@dataclass(frozen=True)
class PlannedGroup:
    round: int
    shown: list[str]


@dataclass(frozen=True)
class PersonalBoard:
    """Which reader a pool's personal leaderboard is for, and whether the digest follows its order."""

    profile_key: str
    order_digest: bool


class RankingRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        *,
        question: str,
        profile_key: str,
        model: str,
        shown: Sequence[str],
        ranked: Sequence[str],
        reason: str,
        pool: str,
        call_id: int | None,
        created_at: str,
    ) -> bool:
        """Store one call's ranking; False when that exact call (same papers, same order) is already stored."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO rankings (question, profile_key, model, shown, ranked, reason, pool, call_id, "
                "created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
                (
                    question,
                    profile_key,
                    model,
                    json.dumps(list(shown)),
                    json.dumps(list(ranked)),
                    reason,
                    pool,
                    call_id,
                    created_at,
                ),
            )
            row = cur.fetchone()
            if row is None:
                return False
            conn.executemany(
                "INSERT INTO ranking_members (ranking_id, arxiv_id) VALUES (?, ?)",
                [(row[0], a) for a in shown],
            )
            return True

    def among(
        self, ids: Sequence[str], question: str, profile_key: str = "", model: str | None = None
    ) -> list[Ranking]:
        """Every stored call of ``question`` (for that reader) whose papers all belong to ``ids``, oldest first."""
        wanted = set(ids)
        if len(wanted) < 2:
            return []
        found: set[int] = set()
        for chunk, marks in chunks(list(wanted)):
            found.update(
                r[0]
                for r in self.db.conn.execute(
                    f"SELECT DISTINCT ranking_id FROM ranking_members WHERE arxiv_id IN ({marks})", chunk
                )
            )
        out: list[Ranking] = []
        extra, params = ("AND model = ?", [model]) if model else ("", [])
        for chunk, marks in chunks(sorted(found)):
            for r in self.db.conn.execute(
                "SELECT id, question, profile_key, model, shown, ranked, reason, pool, created_at FROM rankings "
                f"WHERE id IN ({marks}) AND question = ? AND profile_key = ? {extra} ORDER BY id",
                (*chunk, question, profile_key, *params),
            ):
                shown = json.loads(r[4])
                if wanted.issuperset(shown):
                    out.append(Ranking(r[0], r[1], r[2], r[3], shown, json.loads(r[5]), r[6], r[7], r[8]))
        out.sort(key=lambda x: x.id)
        return out

    def latest_personal_key(self, ids: Sequence[str]) -> str | None:
        """The reader of the newest personal call among ``ids`` (for pools no stage has named)."""
        ids = list(ids)[:500]
        if not ids:
            return None
        marks = ",".join("?" * len(ids))
        row = self.db.conn.execute(
            "SELECT r.profile_key FROM rankings r JOIN ranking_members m ON m.ranking_id = r.id "
            f"WHERE r.question = 'personal' AND m.arxiv_id IN ({marks}) ORDER BY r.id DESC LIMIT 1",
            ids,
        ).fetchone()
        return row[0] if row else None

    # -- rounds written before they are paid for --------------------------------------------

    def planned(self, pool: str, question: str, profile_key: str, model: str) -> list[PlannedGroup]:
        """The pool's scheduled calls, papers in shown order, in schedule order."""
        rows = self.db.conn.execute(
            "SELECT round, shown FROM ranking_plans WHERE pool = ? AND question = ? AND profile_key = ? AND model = ? "
            "ORDER BY round, slot",
            (pool, question, profile_key, model),
        )
        return [PlannedGroup(r[0], json.loads(r[1])) for r in rows]

    def save_plan(
        self,
        pool: str,
        question: str,
        profile_key: str,
        model: str,
        round_no: int,
        groups: Sequence[Sequence[str]],
        *,
        created_at: str,
    ) -> None:
        """Record a round before any of it is paid for, so a crash resumes exactly this round."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO ranking_plans (pool, question, profile_key, model, round, slot, shown, "
                "created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                [
                    (pool, question, profile_key, model, round_no, i, json.dumps(list(g)), created_at)
                    for i, g in enumerate(groups)
                ],
            )

    # -- the reader of each pool's personal leaderboard -------------------------------------

    def set_personal_board(self, pool: str, profile_key: str, order_digest: bool, *, updated_at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO personal_boards (pool, profile_key, order_digest, updated_at) VALUES (?,?,?,?) "
                "ON CONFLICT(pool) DO UPDATE SET profile_key = excluded.profile_key, "
                "order_digest = excluded.order_digest, updated_at = excluded.updated_at",
                (pool, profile_key, int(order_digest), updated_at),
            )

    def personal_board(self, pool: str) -> PersonalBoard | None:
        """The pool's personal leaderboard, if a personal tournament was run for it."""
        row = self.db.conn.execute(
            "SELECT profile_key, order_digest FROM personal_boards WHERE pool = ?", (pool,)
        ).fetchone()
        return PersonalBoard(row[0], bool(row[1])) if row else None
