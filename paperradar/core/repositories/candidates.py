"""Candidates: the prefilter's ranking of each day, and the judge's verdicts on it as the prefilter learns from them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from ..db import Database
from ..models import Candidate, Reason
from .papers import PAPER_COLS, paper_from_row


@dataclass
class JudgedDay:
    day: str
    ranking: list[str]  # eligible candidates, best first
    shortlisted: int
    explored: list[str]
    read: set[str]  # judged with a usable answer
    picked: set[str]
    profile_version: str | None


class CandidateRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # the rows read and written are this profile's

    def save(
        self,
        day: dt.date,
        profile_hash: str,
        ranked: list[Candidate],
        shortlist_size: int,
        *,
        explored: Iterable[str] = (),
        profile_version: str | None = None,
    ) -> None:
        """Replace the day's candidates: a rerun with a changed profile rescores all of them."""
        explored = set(explored)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM candidates WHERE profile_id = ? AND day = ?", (self.profile_id, day.isoformat()))
            for i, c in enumerate(ranked):
                shortlisted = i < shortlist_size and not c.excluded
                conn.execute(
                    "INSERT INTO candidates (profile_id, day, arxiv_id, profile_hash, score, rank, shortlisted, "
                    "excluded, reasons, explored, profile_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        self.profile_id,
                        day.isoformat(),
                        c.paper.arxiv_id,
                        profile_hash,
                        c.score,
                        i + 1 if shortlisted else None,
                        int(shortlisted),
                        int(c.excluded),
                        json.dumps([r.model_dump() for r in c.reasons]),
                        int(c.paper.arxiv_id in explored and not shortlisted),
                        profile_version,
                    ),
                )

    def seen(self, day: dt.date) -> int:
        """How many papers the prefilter ranked for ``day``."""
        return self.db.conn.execute(
            "SELECT count(*) FROM candidates WHERE profile_id = ? AND day = ?", (self.profile_id, day.isoformat())
        ).fetchone()[0]

    def days(self) -> list[str]:
        """Days with a ranked shortlist (so a digest), newest first."""
        return [
            r[0]
            for r in self.db.conn.execute(
                "SELECT DISTINCT day FROM candidates WHERE profile_id = ? ORDER BY day DESC", (self.profile_id,)
            )
        ]

    def for_day(self, day: dt.date, *, shortlisted_only: bool = True, explored: bool = False) -> list[Candidate]:
        """The day's candidates by score; ``explored`` adds the random sample below the cut."""
        where = ""
        if shortlisted_only:
            where = "AND (c.shortlisted = 1 OR c.explored = 1)" if explored else "AND c.shortlisted = 1"
        rows = self.db.conn.execute(
            f"SELECT {PAPER_COLS}, a.announce_type, c.day, c.score, c.excluded, c.reasons "
            "FROM candidates c JOIN papers p USING (arxiv_id) "
            "LEFT JOIN announcements a ON a.arxiv_id = c.arxiv_id AND a.day = c.day "
            f"WHERE c.profile_id = ? AND c.day = ? {where} ORDER BY c.score DESC",
            (self.profile_id, day.isoformat()),
        ).fetchall()
        return [
            Candidate(
                paper=paper_from_row(r[:10], r[10] or "new", r[11]),
                score=r[12],
                excluded=bool(r[13]),
                reasons=[Reason(**x) for x in json.loads(r[14])],
            )
            for r in rows
        ]

    def profile_hash(self, day: dt.date) -> str | None:
        """The profile the day was ranked with (None: not ranked yet)."""
        row = self.db.conn.execute(
            "SELECT profile_hash FROM candidates WHERE profile_id = ? AND day = ? LIMIT 1",
            (self.profile_id, day.isoformat()),
        ).fetchone()
        return row[0] if row else None

    def judged_days(self, before: dt.date, limit: int) -> list[JudgedDay]:
        """The latest ``limit`` days before ``before`` whose candidates the judge has read.

        Each with its eligible ranking (best first), how many were shortlisted,
        the explored sample, the papers the judge read and those it picked.
        """
        days = [
            r[0]
            for r in self.db.conn.execute(
                "SELECT DISTINCT c.day FROM candidates c JOIN judgments j "
                "ON j.profile_id = c.profile_id AND j.day = c.day AND j.arxiv_id = c.arxiv_id "
                "WHERE c.profile_id = ? AND c.day < ? AND j.status = 'ok' ORDER BY c.day DESC LIMIT ?",
                (self.profile_id, before.isoformat(), limit),
            )
        ]
        out = []
        for day in sorted(days):
            rows = self.db.conn.execute(
                "SELECT c.arxiv_id, c.shortlisted, c.explored, c.profile_version, j.status, j.selected "
                "FROM candidates c LEFT JOIN judgments j "
                "ON j.profile_id = c.profile_id AND j.day = c.day AND j.arxiv_id = c.arxiv_id "
                "WHERE c.profile_id = ? AND c.day = ? AND c.excluded = 0 ORDER BY c.score DESC, c.arxiv_id",
                (self.profile_id, day),
            ).fetchall()
            out.append(
                JudgedDay(
                    day=day,
                    ranking=[r[0] for r in rows],
                    shortlisted=sum(r[1] for r in rows),
                    explored=[r[0] for r in rows if r[2]],
                    read={r[0] for r in rows if r[4] == "ok"},
                    picked={r[0] for r in rows if r[4] == "ok" and r[5]},
                    profile_version={r[3] for r in rows if r[3]}.pop() if any(r[3] for r in rows) else None,
                )
            )
        return out
