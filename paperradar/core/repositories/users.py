"""Accounts and their web sessions: ``users`` and ``user_sessions``.

A session row is named by the SHA-256 of the cookie's random value, so a copy
of the database does not hold a usable cookie; logging out (or disabling the
user) revokes it for good.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database

_USER_COLUMNS = "id, name, email, role, active, created_at, password_hash"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    role: str  # admin / member
    active: bool
    created_at: str
    password_hash: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def _user(row) -> User:
    return User(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


class UserRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(self, name: str, password_hash: str, role: str, email: str | None, at: str) -> User:
        with self.db.transaction() as conn:
            row = conn.execute(
                "INSERT INTO users (name, email, role, password_hash, active, created_at) "
                f"VALUES (?, ?, ?, ?, 1, ?) RETURNING {_USER_COLUMNS}",
                (name, email, role, password_hash, at),
            ).fetchone()
        return _user(row)

    def get(self, name: str) -> User | None:
        row = self.db.conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self.db.conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def all(self) -> list[User]:
        return [_user(r) for r in self.db.conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]

    def any_active(self) -> bool:
        """Whether the web app asks for a password (a store without accounts is the single-user setup)."""
        return self.db.conn.execute("SELECT 1 FROM users WHERE active = 1 LIMIT 1").fetchone() is not None

    def set_active(self, user_id: int, active: bool, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
            if not active:
                conn.execute(
                    "UPDATE user_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (at, user_id)
                )

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    # -- web sessions -------------------------------------------------------------------------

    def start_session(self, session_hash: str, user_id: int, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO user_sessions (id, user_id, created_at) VALUES (?, ?, ?)", (session_hash, user_id, at)
            )

    def session_user(self, session_hash: str) -> User | None:
        """The active user of a live session, or None (unknown, revoked, or the user is disabled)."""
        row = self.db.conn.execute(
            f"SELECT {', '.join('u.' + c.strip() for c in _USER_COLUMNS.split(','))} "
            "FROM user_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id = ? AND s.revoked_at IS NULL AND u.active = 1",
            (session_hash,),
        ).fetchone()
        return _user(row) if row else None

    def end_session(self, session_hash: str, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE user_sessions SET revoked_at = ? WHERE id = ?", (at, session_hash))
