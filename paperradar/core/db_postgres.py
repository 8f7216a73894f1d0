"""The database on a PostgreSQL server: the same surface as :class:`~.db.Database`.

The repositories write one SQL for both engines: ``?`` placeholders, upserts
with ``ON CONFLICT``, ids with ``RETURNING``. This module is what makes that
SQL run on PostgreSQL: each thread gets its own psycopg connection (as with
SQLite), ``?`` becomes psycopg's ``%s``, and values are sent and read back in
the shapes the SQLite side gives (booleans as integers, dates as ISO text,
sums as ints or floats rather than Decimals), so a repository never asks which
engine it is on except where the engines truly differ (full-text search,
JSON), which it asks through :attr:`PostgresDatabase.dialect`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus

from .errors import StoreError
from .thread_connections import ThreadConnections

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PASSWORD_ENV = "PAPERRADAR_DATABASE_PASSWORD"


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``, and literal ``%`` doubled.

    Question marks inside quoted strings or identifiers are text, not placeholders.
    """
    out, quote = [], None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class _BoolAsInteger(Dumper):
    # SQLite stores True as 1; the columns are integers on both engines.
    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _IsoText(Dumper):
    # sqlite3 stores dates and datetimes as ISO text; oid 0 lets the server
    # read the text as whatever the column or comparison needs.
    oid = 0

    def dump(self, obj: dt.date) -> bytes:
        if isinstance(obj, dt.datetime):
            return obj.isoformat(" ").encode()
        return obj.isoformat().encode()


class _NumericAsNumber(Loader):
    # sum() over integers is numeric on PostgreSQL; SQLite gives an int.
    def load(self, data: bytes) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_dumper(dt.date, _IsoText)
    conn.adapters.register_dumper(dt.datetime, _IsoText)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


def connect_for_lock(url: str, application_name: str) -> psycopg.Connection:
    """A connection of its own for a session advisory lock (the lock lives as long as it)."""
    password = os.environ.get(DEFAULT_PASSWORD_ENV)
    kwargs = {"password": password} if password and urlsplit(url).password is None else {}
    try:
        return psycopg.connect(url, autocommit=True, application_name=application_name[:63], **kwargs)
    except psycopg.Error as exc:
        raise StoreError(f"Cannot connect to the database {redact_url(url)}: {str(exc).strip()}") from exc


def try_advisory_lock(conn: psycopg.Connection, key: int) -> bool:
    return conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]


def advisory_unlock(conn: psycopg.Connection, key: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def advisory_holder(conn: psycopg.Connection, key: int) -> str | None:
    """The application_name of the session holding ``key``, if any."""
    row = conn.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        (key,),
    ).fetchone()
    return row[0] if row else None


class PgConnection:
    """A psycopg connection that takes the repositories' ``?`` SQL, like sqlite3's."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> psycopg.Cursor:
        return self.raw.execute(to_pyformat(sql), list(params or ()))

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> psycopg.Cursor:
        cur = self.raw.cursor()
        rows = [list(p) for p in seq]
        if rows:
            cur.executemany(to_pyformat(sql), rows)
        return cur

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def rollback(self) -> None:
        self.raw.rollback()

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, password_env: str = DEFAULT_PASSWORD_ENV):
        self.url = url
        self.location = redact_url(url)
        self.path = None
        self._password = os.environ.get(password_env) if password_env else None
        self._conns: ThreadConnections[PgConnection] = ThreadConnections(
            self._connect,
            errors=(psycopg.Error,),
            closed=lambda: StoreError(f"The database {self.location} was closed; open the store again."),
            # A connection the server dropped is opened again rather than failing every later query.
            usable=lambda conn: not conn.raw.closed,
        )
        self.conn  # noqa: B018 - connect now, so a wrong URL fails at once, not at first use

    def _connect(self) -> PgConnection:
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 10}
        if self._password and urlsplit(self.url).password is None:
            kwargs["password"] = self._password
        try:
            raw = psycopg.connect(self.url, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(
                f"Cannot connect to the database {self.location}: {str(exc).strip()}. Check `database` in "
                f"paperradar.toml, that the server is running, and the password in ${DEFAULT_PASSWORD_ENV} "
                "(or libpq's PGPASSWORD / ~/.pgpass)."
            ) from exc
        _configure(raw)
        return PgConnection(raw)

    @property
    def conn(self) -> PgConnection:
        """This thread's connection, opened on first use."""
        return self._conns.get()

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    def close(self) -> None:
        self._conns.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """BEGIN … COMMIT on this thread's connection, rolled back on any exception (nestable)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.raw.execute("BEGIN")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                conn.raw.execute("ROLLBACK")
            raise
        else:
            conn.raw.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def table_names(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).fetchall()
        return [r[0] for r in rows]

    def count(self, table: str) -> int:
        if table not in self.table_names():
            raise StoreError(f"No table {table!r} in {self.location}.")
        return self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]

    def has_extension(self, name: str) -> bool:
        """Whether the server can provide an extension (installed or installable)."""
        row = self.conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = ?", (name,)).fetchone()
        return row is not None
