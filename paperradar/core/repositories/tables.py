"""Whole tables, whatever is in them: what `paperradar db copy` and the health check read.

The other repositories know one kind of record each; this one knows the
schema itself (tables, columns, keys, foreign keys) on both engines, so a store
can be moved table by table and a copy checked row by row. The SQLite
full-text index (a virtual table and its shadow tables) and PostgreSQL's
search columns are derived from ``papers`` and rebuilt by the destination's own
triggers, so they are not listed; neither are the migration log (each store
keeps its own) and the job queue's tables (work in flight, not the store's
content).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..db import Database

# The migration log and the job queue's own tables are not part of what a copy moves.
NOT_COPIED_PREFIXES = ("_migrations", "procrastinate_", "sqlite_")
# A column of these types is an index over other columns, filled by the store's triggers.
DERIVED_TYPES = ("tsvector",)


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]  # in declared order, derived (generated, search) columns left out
    derived: tuple[str, ...]  # generated or search-index columns: the destination computes them
    key: tuple[str, ...]  # the primary key's columns, in key order (all columns when there is none)
    references: tuple[str, ...]  # tables its foreign keys point at


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class TableRepository:
    def __init__(self, db: Database):
        self.db = db

    @property
    def dialect(self) -> str:
        return getattr(self.db, "dialect", "sqlite")

    # -- the schema ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The store's own tables, sorted: no migration log, queue, or derived search index."""
        if self.dialect == "sqlite":
            rows = self.db.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
            virtual = [r["name"] for r in rows if (r["sql"] or "").upper().startswith("CREATE VIRTUAL TABLE")]
            names = [
                r["name"]
                for r in rows
                if r["name"] not in virtual and not any(r["name"].startswith(v + "_") for v in virtual)
            ]
        else:
            names = self.db.table_names()
        return sorted(n for n in names if not n.startswith(NOT_COPIED_PREFIXES))

    def info(self, table: str) -> TableInfo:
        if self.dialect == "sqlite":
            return self._sqlite_info(table)
        return self._pg_info(table)

    def _sqlite_info(self, table: str) -> TableInfo:
        # table_xinfo's hidden: 2 and 3 are generated columns (virtual, stored).
        cols = self.db.query(f"PRAGMA table_xinfo({_quote(table)})")
        columns = tuple(c["name"] for c in cols if c["hidden"] == 0)
        derived = tuple(c["name"] for c in cols if c["hidden"] in (2, 3))
        keyed = sorted((c for c in cols if c["pk"]), key=lambda c: c["pk"])
        key = tuple(c["name"] for c in keyed)
        if not (len(keyed) == 1 and keyed[0]["type"].upper() == "INTEGER"):
            # The hidden rowid is the insertion order (search ranks recent papers by it); PostgreSQL
            # tables carry it as a real `rowid` column, so it travels with the rows both ways.
            columns = ("rowid", *columns)
        refs = {r["table"] for r in self.db.query(f"PRAGMA foreign_key_list({_quote(table)})")}
        return TableInfo(table, columns, derived, key or columns, tuple(sorted(refs - {table})))

    def _pg_info(self, table: str) -> TableInfo:
        cols = self.db.query(
            "SELECT column_name, data_type, is_generated FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )

        def is_derived(c: dict[str, Any]) -> bool:
            return c["is_generated"] == "ALWAYS" or c["data_type"] in DERIVED_TYPES

        columns = tuple(c["column_name"] for c in cols if not is_derived(c))
        derived = tuple(c["column_name"] for c in cols if is_derived(c))
        key = tuple(
            r["column_name"]
            for r in self.db.query(
                "SELECT k.column_name FROM information_schema.table_constraints t "
                "JOIN information_schema.key_column_usage k "
                "ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema "
                "WHERE t.table_schema = current_schema() AND t.table_name = ? AND t.constraint_type = 'PRIMARY KEY' "
                "ORDER BY k.ordinal_position",
                (table,),
            )
        )
        refs = {
            r["table_name"]
            for r in self.db.query(
                "SELECT u.table_name FROM information_schema.table_constraints t "
                "JOIN information_schema.constraint_column_usage u "
                "ON u.constraint_name = t.constraint_name AND u.table_schema = t.table_schema "
                "WHERE t.table_schema = current_schema() AND t.table_name = ? AND t.constraint_type = 'FOREIGN KEY'",
                (table,),
            )
        }
        return TableInfo(table, columns, derived, key or columns, tuple(sorted(refs - {table})))

    # -- rows -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read as of one moment, while a daily run may write (WAL on SQLite, REPEATABLE READ on PostgreSQL)."""
        conn = self.db.conn
        conn.execute("BEGIN" if self.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def count(self, table: str) -> int:
        return self.db.query(f"SELECT count(*) AS n FROM {_quote(table)}")[0]["n"]

    def batches(
        self, table: str, columns: Sequence[str], key: Sequence[str], size: int = 1000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every row's ``columns``, ``size`` rows at a time, in this engine's key order."""
        sql = (
            f"SELECT {', '.join(map(_quote, columns))} FROM {_quote(table)} "
            f"ORDER BY {', '.join(map(_quote, key))} LIMIT ? OFFSET ?"
        )
        offset = 0
        while True:
            cur = self.db.conn.execute(sql, (size, offset))
            rows = [tuple(r) for r in cur.fetchall()]
            if not rows:
                return
            yield rows
            offset += len(rows)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        with self.db.transaction() as conn:
            conn.executemany(f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) VALUES ({marks})", rows)

    def clear(self, table: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(f"DELETE FROM {_quote(table)}")

    def restart_ids(self, table: str) -> None:
        """After rows came in with their ids: the next generated id follows the largest copied one.

        SQLite takes max(id) + 1 by itself; a PostgreSQL sequence would hand out 1 again.
        """
        if self.dialect == "sqlite":
            return
        for c in self.db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
            (table,),
        ):
            col = c["column_name"]
            self.db.query(
                f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(max({_quote(col)}), 0) + 1, false) "
                f"FROM {_quote(table)}",
                (table, col),
            )

    # -- the job queue, for the health check ------------------------------------------------------

    def queue_waiting(self) -> int | None:
        """Jobs waiting in the PostgreSQL job queue; None when this store has no queue."""
        if "procrastinate_jobs" not in self.db.table_names():
            return None
        return self.db.query("SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'todo'")[0]["n"]
