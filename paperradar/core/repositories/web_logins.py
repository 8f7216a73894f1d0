"""Web logins: one row per signed-in browser, so logging out revokes a cookie for good."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database


@dataclass(frozen=True)
class WebLogin:
    id: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class WebLoginRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, login_id: str, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO web_logins (id, created_at) VALUES (?, ?)", (login_id, at))

    def get(self, login_id: str) -> WebLogin | None:
        row = self.db.conn.execute(
            "SELECT id, created_at, revoked_at FROM web_logins WHERE id = ?", (login_id,)
        ).fetchone()
        return WebLogin(*row) if row else None

    def revoke(self, login_id: str, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE web_logins SET revoked_at = ? WHERE id = ?", (at, login_id))
