"""k-wise verdicts in the store: one row per LLM call, its plans, and each pool's reader.

The SQL of :mod:`paperradar.stages.group_tournament` lives here so stage code only
sees records. A verdict is keyed by question, reader, model and the papers in
the order shown: storing it again is a no-op, which is what lets a rerun (or a
second process) never buy the same call twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.store import Store, utcnow


@dataclass
class RankingRow:
    id: int
    question: str
    profile_key: str
    model: str
    shown: list[str]
    ranked: list[str]
    reason: str
    pool: str
    created_at: str


def save_ranking(
    store: Store,
    *,
    question: str,
    profile_key: str,
    model: str,
    shown: Sequence[str],
    ranked: Sequence[str],
    reason: str,
    pool: str,
    call_id: int | None,
) -> bool:
    """Store one call's ranking; False when that exact call (same papers, same order) is already stored."""
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT OR IGNORE INTO rankings (question, profile_key, model, shown, ranked, reason, pool, call_id, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                question,
                profile_key,
                model,
                json.dumps(list(shown)),
                json.dumps(list(ranked)),
                reason,
                pool,
                call_id,
                utcnow(),
            ),
        )
        if cur.rowcount != 1:
            return False
        conn.executemany(
            "INSERT INTO ranking_members (ranking_id, arxiv_id) VALUES (?, ?)",
            [(cur.lastrowid, a) for a in shown],
        )
        return True


def pool_rankings(
    store: Store, ids: Sequence[str], question: str, profile_key: str = "", model: str | None = None
) -> list[RankingRow]:
    """Every stored call of ``question`` (for that reader) whose papers all belong to ``ids``, oldest first."""
    wanted = set(ids)
    if len(wanted) < 2:
        return []
    found: set[int] = set()
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in store.conn.execute(
                f"SELECT DISTINCT ranking_id FROM ranking_members WHERE arxiv_id IN ({marks})", chunk
            )
        )
    rows: list[RankingRow] = []
    extra, params = ("AND model = ?", [model]) if model else ("", [])
    ordered = sorted(found)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in store.conn.execute(
            "SELECT id, question, profile_key, model, shown, ranked, reason, pool, created_at FROM rankings "
            f"WHERE id IN ({marks}) AND question = ? AND profile_key = ? {extra} ORDER BY id",
            (*chunk, question, profile_key, *params),
        ):
            shown = json.loads(r[4])
            if wanted.issuperset(shown):
                rows.append(RankingRow(r[0], r[1], r[2], r[3], shown, json.loads(r[5]), r[6], r[7], r[8]))
    rows.sort(key=lambda x: x.id)
    return rows


def planned_groups(store: Store, pool: str, question: str, profile_key: str, model: str) -> list[tuple[int, list[str]]]:
    """The pool's scheduled calls as (round, papers in shown order), in schedule order."""
    return [
        (r[0], json.loads(r[1]))
        for r in store.conn.execute(
            "SELECT round, shown FROM ranking_plans WHERE pool = ? AND question = ? AND profile_key = ? AND model = ? "
            "ORDER BY round, slot",
            (pool, question, profile_key, model),
        )
    ]


def save_group_plan(
    store: Store, pool: str, question: str, profile_key: str, model: str, round_no: int, groups: Sequence[Sequence[str]]
) -> None:
    """Record a round before any of it is paid for, so a crash resumes exactly this round."""
    with store.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO ranking_plans (pool, question, profile_key, model, round, slot, shown, created_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (pool, question, profile_key, model, round_no, i, json.dumps(list(g)), utcnow())
                for i, g in enumerate(groups)
            ],
        )


def set_personal_board(store: Store, pool: str, profile_key: str, order_digest: bool) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO personal_boards (pool, profile_key, order_digest, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(pool) DO UPDATE SET profile_key = excluded.profile_key, "
            "order_digest = excluded.order_digest, updated_at = excluded.updated_at",
            (pool, profile_key, int(order_digest), utcnow()),
        )


def personal_board(store: Store, pool: str) -> tuple[str, bool] | None:
    """(profile key, order the digest by it) of the pool's personal leaderboard, if one was run."""
    row = store.conn.execute("SELECT profile_key, order_digest FROM personal_boards WHERE pool = ?", (pool,)).fetchone()
    return (row[0], bool(row[1])) if row else None


def latest_personal_key(store: Store, ids: Sequence[str]) -> str | None:
    """The reader of the newest personal call among ``ids`` (for pools no stage has named)."""
    ids = list(ids)[:500]
    if not ids:
        return None
    marks = ",".join("?" * len(ids))
    row = store.conn.execute(
        "SELECT r.profile_key FROM rankings r JOIN ranking_members m ON m.ranking_id = r.id "
        f"WHERE r.question = 'personal' AND m.arxiv_id IN ({marks}) ORDER BY r.id DESC LIMIT 1",
        ids,
    ).fetchone()
    return row[0] if row else None
