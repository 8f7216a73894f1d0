"""Deliveries: one row per push of a day's digest to a target, claimed before it is sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..db import Database

_COLUMNS = "id, day, channel, target, status, attempts, response, started_at, sent_at"


@dataclass(frozen=True)
class Delivery:
    id: int
    day: str
    channel: str  # email / slack / webhook / rss / site
    target: str  # recipient address, env var name, URL or path (never a secret)
    status: str  # sending / sent / failed / skipped / written
    attempts: int
    response: str | None  # the server's last answer, or the error
    started_at: str
    sent_at: str | None  # when it succeeded


class DeliveryRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # the rows read and written are this profile's

    def fail_stale_claims(self, started_before: str) -> None:
        """Mark 'sending' rows started before ``started_before`` failed: their run died mid-send."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET status='failed', response='interrupted before it finished' "
                "WHERE status='sending' AND started_at < ?",
                (started_before,),
            )

    def current(self, day: dt.date, channel: str, target: str) -> Delivery | None:
        """The latest delivery of ``day`` to ``target`` that was sent or is being sent."""
        row = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE profile_id=? AND day=? AND channel=? AND target=? "
            "AND status IN ('sent', 'sending') ORDER BY id DESC LIMIT 1",
            (self.profile_id, day.isoformat(), channel, target),
        ).fetchone()
        return Delivery(*row) if row else None

    def claim(self, day: dt.date, channel: str, target: str, at: str) -> int:
        """A new 'sending' row for ``target``; returns its id."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO deliveries (profile_id, day, channel, target, status, attempts, started_at) "
                "VALUES (?,?,?,?, 'sending', 0, ?) RETURNING id",
                (self.profile_id, day.isoformat(), channel, target, at),
            )
            return cur.fetchone()[0]

    def finish(self, row_id: int, status: str, attempts: int, response: str, sent_at: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET status=?, attempts=?, response=?, sent_at=? WHERE id=?",
                (status, attempts, response, sent_at, row_id),
            )

    def recorded(self, day: dt.date | None = None) -> list[Delivery]:
        """Recorded deliveries, newest first (all days, or one)."""
        where, args = ("AND day = ?", [day.isoformat()]) if day else ("", [])
        return [
            Delivery(*r)
            for r in self.db.conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE profile_id = ? {where} ORDER BY id DESC",
                [self.profile_id, *args],
            )
        ]
