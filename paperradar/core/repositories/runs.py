"""Runs: the ``runs`` table and the ``run_stages`` each run reports (what ran, how long, what it said)."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass

from ..clock import utcnow
from ..db import Database
from .sql import upsert


@dataclass(frozen=True)
class RunningRun:
    """A run whose row still says 'running'."""

    id: int
    day: str
    pid: int | None  # of the process that started it
    profile_id: int = 1  # whose run: its lock is that profile's day lock (see core.runlock)


class RunRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # runs are started for this profile; every profile's are listed

    def start(self, day: dt.date, command: str) -> int:
        """A new 'running' run of ``command`` for ``day``, owned by this process; its id."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (profile_id, day, command, started_at, status, pid) "
                "VALUES (?,?,?,?, 'running', ?) RETURNING id",
                (self.profile_id, day.isoformat(), command, utcnow(), os.getpid()),
            )
            return cur.fetchone()[0]

    def record_stage(self, run_id: int, stage: str, started_at: str, seconds: float, detail: dict) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                upsert("run_stages", ("run_id", "stage", "started_at", "seconds", "detail"), ("run_id", "stage")),
                (run_id, stage, started_at, seconds, json.dumps(detail, default=str)),
            )

    def finish(self, run_id: int, status: str, error: str | None = None, *, only_if_running: bool = False) -> None:
        """Close the run; ``error`` is stored as given (the caller redacts it)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, error=? WHERE id=?"
                + (" AND status = 'running'" if only_if_running else ""),
                (utcnow(), status, error, run_id),
            )

    def recent(self, limit: int = 20) -> list[dict]:
        """The latest runs, newest first, each with its ``stages`` (name, seconds, decoded detail)."""
        rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))
        for r in rows:
            r["stages"] = [
                {**s, "detail": json.loads(s["detail"])}
                for s in self.db.query(
                    "SELECT stage, seconds, detail FROM run_stages WHERE run_id = ? ORDER BY rowid",
                    [r["id"]],
                )
            ]
        return rows

    def stage_seconds(self, run_id: int) -> dict[str, float]:
        """How long each stage of the run took."""
        rows = self.db.conn.execute("SELECT stage, seconds FROM run_stages WHERE run_id = ?", (run_id,))
        return {stage: seconds for stage, seconds in rows}

    def latest_stage_detail(self, day: dt.date, stage: str) -> dict | None:
        """What ``stage`` reported in this profile's latest run of ``day`` that ran it."""
        row = self.db.conn.execute(
            "SELECT s.detail FROM run_stages s JOIN runs r ON r.id = s.run_id "
            "WHERE r.profile_id = ? AND r.day = ? AND s.stage = ? ORDER BY r.id DESC LIMIT 1",
            (self.profile_id, day.isoformat(), stage),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def running(self) -> list[RunningRun]:
        return [
            RunningRun(*r)
            for r in self.db.conn.execute("SELECT id, day, pid, profile_id FROM runs WHERE status = 'running'")
        ]
