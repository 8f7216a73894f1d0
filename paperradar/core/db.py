"""The database: one SQLite connection per thread, transactions, queries (PostgreSQL: db_postgres).

Every repository talks to the database through this class and nothing else,
so a second backend needs a second class with the same surface, not edits in
the stages. Each thread gets its own connection (SQLite connections are not
safe to share across threads mid-transaction); WAL mode lets the daily job,
the LLM worker threads and the web server read while one of them writes, and
``busy_timeout`` makes a writer wait for another instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .db_postgres import DEFAULT_PASSWORD_ENV, PostgresDatabase, is_postgres_url
from .errors import StoreError
from .thread_connections import ThreadConnections

BUSY_TIMEOUT_MS = 10_000


class Database:
    dialect = "sqlite"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.location = str(self.path)
        self._conns: ThreadConnections[sqlite3.Connection] = ThreadConnections(
            self._connect,
            errors=(sqlite3.Error,),
            closed=lambda: StoreError(f"The database {self.path} was closed; open the store again."),
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._cannot_open(exc) from exc
        # Open the first connection now so a bad path fails at once, not at first use.
        conn = self.conn
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as exc:
            raise self._cannot_open(exc) from exc

    def _cannot_open(self, exc: Exception) -> StoreError:
        return StoreError(
            f"Cannot open the database {self.path}: {exc}. "
            "Check the `database` path in paperradar.toml and that its folder is writable."
        )

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: transactions are explicit (see transaction()).
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise self._cannot_open(exc) from exc
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        return self._conns.get()

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    def close(self) -> None:
        self._conns.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT on this thread's connection, rolled back on any exception (nestable)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    def count(self, table: str) -> int:
        if table not in self.table_names():
            raise StoreError(f"No table {table!r} in {self.path}.")
        return self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def open_database(location: str | Path, *, password_env: str = DEFAULT_PASSWORD_ENV) -> Database | PostgresDatabase:
    """A ``postgresql://`` URL opens the server; anything else is a SQLite file path."""
    if is_postgres_url(location):
        return PostgresDatabase(str(location), password_env=password_env)
    return Database(location)
