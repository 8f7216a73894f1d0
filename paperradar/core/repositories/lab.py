"""What a lab shares across profiles: the papers many members' profiles picked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..db import Database


@dataclass(frozen=True)
class LabPick:
    arxiv_id: str
    title: str
    profiles: int  # active profiles that shortlisted it or whose judge selected it
    shortlisted: int
    selected: int
    last_day: str


class LabRepository:
    def __init__(self, db: Database):
        self.db = db

    def picks(self, since: dt.date, until: dt.date, limit: int = 50) -> list[LabPick]:
        """Papers of the days ``since``…``until`` picked by the most active profiles (ties: newest first)."""
        rows = self.db.conn.execute(
            "SELECT c.arxiv_id, p.title, COUNT(DISTINCT c.profile_id), "
            "COUNT(DISTINCT CASE WHEN c.shortlisted = 1 THEN c.profile_id END), "
            "COUNT(DISTINCT CASE WHEN j.selected = 1 THEN c.profile_id END), MAX(c.day) "
            "FROM candidates c JOIN papers p ON p.arxiv_id = c.arxiv_id "
            "JOIN profiles pr ON pr.id = c.profile_id AND pr.active = 1 "
            "LEFT JOIN judgments j ON j.profile_id = c.profile_id AND j.day = c.day AND j.arxiv_id = c.arxiv_id "
            "WHERE c.day >= ? AND c.day <= ? AND (c.shortlisted = 1 OR j.selected = 1) "
            "GROUP BY c.arxiv_id, p.title "
            "ORDER BY COUNT(DISTINCT c.profile_id) DESC, MAX(c.day) DESC, c.arxiv_id LIMIT ?",
            (since.isoformat(), until.isoformat(), limit),
        ).fetchall()
        return [LabPick(*r) for r in rows]
