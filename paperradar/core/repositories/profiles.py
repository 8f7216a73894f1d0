"""Profiles: who a day is ranked and judged for.

Profile 1 is ``default``: it has no owner and no stored settings, and stands
for the ``[profile]`` of paperradar.toml (the single-user setup). Every other
profile belongs to a user and keeps its settings here as the JSON of
:class:`~paperradar.core.config.ProfileConfig`, with its own LLM budget per
run and its own e-mail recipients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..config import ProfileConfig
from ..db import Database

DEFAULT_PROFILE_ID = 1

_COLUMNS = (
    "p.id, p.owner_id, u.name, p.name, p.settings, p.max_cost_per_run, p.recipients, p.active, "
    "p.created_at, p.updated_at"
)
_FROM = "FROM profiles p LEFT JOIN users u ON u.id = p.owner_id"


@dataclass(frozen=True)
class ProfileRecord:
    id: int
    owner_id: int | None  # None: the default profile, the operator's
    owner: str | None
    name: str
    settings: ProfileConfig | None  # None: the [profile] of paperradar.toml
    max_cost_per_run: float | None  # None: [llm] max_cost_per_run
    recipients: list[str] = field(default_factory=list)  # empty: [email] recipients
    active: bool = True
    created_at: str = ""
    updated_at: str = ""

    @property
    def label(self) -> str:
        """How the CLI and the web name it: owner/name, or the default profile's bare name."""
        return f"{self.owner}/{self.name}" if self.owner else self.name


def _record(row) -> ProfileRecord:
    settings = ProfileConfig.model_validate_json(row[4]) if row[4] is not None else None
    return ProfileRecord(
        id=row[0],
        owner_id=row[1],
        owner=row[2],
        name=row[3],
        settings=settings,
        max_cost_per_run=row[5],
        recipients=json.loads(row[6]),
        active=bool(row[7]),
        created_at=row[8],
        updated_at=row[9],
    )


def _settings_json(settings: ProfileConfig | None) -> str | None:
    return None if settings is None else settings.model_dump_json()


class ProfileRepository:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        owner_id: int,
        name: str,
        settings: ProfileConfig,
        at: str,
        *,
        max_cost_per_run: float | None = None,
        recipients: list[str] | None = None,
    ) -> ProfileRecord:
        with self.db.transaction() as conn:
            (profile_id,) = conn.execute(
                "INSERT INTO profiles (owner_id, name, settings, max_cost_per_run, recipients, active, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
                (owner_id, name, _settings_json(settings), max_cost_per_run, json.dumps(recipients or []), at, at),
            ).fetchone()
        record = self.get(profile_id)
        assert record is not None
        return record

    def get(self, profile_id: int) -> ProfileRecord | None:
        row = self.db.conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE p.id = ?", (profile_id,)).fetchone()
        return _record(row) if row else None

    def named(self, owner_id: int | None, name: str) -> ProfileRecord | None:
        if owner_id is None:
            row = self.db.conn.execute(
                f"SELECT {_COLUMNS} {_FROM} WHERE p.owner_id IS NULL AND p.name = ?", (name,)
            ).fetchone()
        else:
            row = self.db.conn.execute(
                f"SELECT {_COLUMNS} {_FROM} WHERE p.owner_id = ? AND p.name = ?", (owner_id, name)
            ).fetchone()
        return _record(row) if row else None

    def with_name(self, name: str) -> list[ProfileRecord]:
        """Every profile called ``name``, whoever owns it."""
        return [_record(r) for r in self.db.conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE p.name = ?", (name,))]

    def all(self) -> list[ProfileRecord]:
        return [_record(r) for r in self.db.conn.execute(f"SELECT {_COLUMNS} {_FROM} ORDER BY p.id")]

    def owned_by(self, owner_id: int) -> list[ProfileRecord]:
        return [
            _record(r)
            for r in self.db.conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE p.owner_id = ? ORDER BY p.id", (owner_id,))
        ]

    def active(self) -> list[ProfileRecord]:
        """The profiles the daily work is done for: active ones whose owner (if any) is active too."""
        return [
            _record(r)
            for r in self.db.conn.execute(
                f"SELECT {_COLUMNS} {_FROM} WHERE p.active = 1 AND (p.owner_id IS NULL OR u.active = 1) ORDER BY p.id"
            )
        ]

    def update(
        self,
        profile_id: int,
        settings: ProfileConfig | None,
        max_cost_per_run: float | None,
        recipients: list[str],
        at: str,
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE profiles SET settings = ?, max_cost_per_run = ?, recipients = ?, updated_at = ? WHERE id = ?",
                (_settings_json(settings), max_cost_per_run, json.dumps(recipients), at, profile_id),
            )

    def set_active(self, profile_id: int, active: bool, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE profiles SET active = ?, updated_at = ? WHERE id = ?", (int(active), at, profile_id))
