"""SQL that reads the same on SQLite and PostgreSQL, and the few words that differ.

The repositories write standard SQL with ``?`` placeholders: upserts are
``INSERT … ON CONFLICT``, new ids come back with ``RETURNING id``, and
insertion order is ``ORDER BY rowid`` (PostgreSQL tables get a ``rowid``
identity column from the migrations). What the engines spell differently —
reading a key of a JSON text column, merging two JSON objects — is a function
of the database's ``dialect`` here, so no repository holds two copies of a query.
"""

from __future__ import annotations

from collections.abc import Sequence


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """INSERT one row, or overwrite the row with the same ``key`` (SQLite's INSERT OR REPLACE, portably)."""
    marks = ",".join("?" * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT ({', '.join(key)}) {action}"


def json_has(dialect: str, column: str, key: str) -> str:
    """A condition: the JSON object in ``column`` has a non-null ``key``."""
    if dialect == "postgresql":
        return f"coalesce(jsonb_typeof(({column})::jsonb -> '{key}'), 'null') <> 'null'"
    return f"json_extract({column}, '$.{key}') IS NOT NULL"


def json_merge(dialect: str, old: str, new: str) -> str:
    """``old`` with the keys of ``new`` added or replaced (both JSON object texts)."""
    if dialect == "postgresql":
        return f"(({old})::jsonb || ({new})::jsonb)::text"
    return f"json_patch({old}, {new})"
