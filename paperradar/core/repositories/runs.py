"""Runs: the ``runs`` table as the run lock sees it (which runs claim to be in progress)."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database


@dataclass(frozen=True)
class RunningRun:
    """A run whose row still says 'running'."""

    id: int
    day: str
    pid: int | None  # of the process that started it


class RunRepository:
    def __init__(self, db: Database):
        self.db = db

    def running(self) -> list[RunningRun]:
        return [RunningRun(*r) for r in self.db.conn.execute("SELECT id, day, pid FROM runs WHERE status = 'running'")]
