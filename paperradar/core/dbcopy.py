"""`paperradar db copy SRC DST`: move a whole store to another database, checked row by row.

Either end is a SQLite file or a ``postgresql://`` URL. Both stores are opened
(so both carry every migration), the destination's tables are filled from the
source's in foreign-key order, and then every table is read back from both
sides: the copy counts when the row counts and the checksums agree. A
checksum is a hash of the table's rows in primary-key order, each value
normalised first so that the two engines' spellings of one value compare equal
(an integral REAL and an INTEGER, a BLOB and a bytea, a bool and 0/1).

Everything happens in one transaction on the destination: a copy that fails
or does not check out leaves the destination as it was. A destination that
already holds rows is refused unless ``force``, which replaces those rows
(there is no merge: ids from two stores would collide).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import PaperradarError
from .lab_schema import SEEDED_ROWS
from .redact import redact
from .repositories.tables import TableInfo, TableRepository
from .store import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class CopyError(PaperradarError):
    """The copy cannot start or did not check out."""


@dataclass
class TableCheck:
    name: str
    source_rows: int
    copied_rows: int
    source_checksum: str
    copied_checksum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.copied_rows and self.source_checksum == self.copied_checksum


@dataclass
class CopyReport:
    source: str
    destination: str
    tables: list[TableCheck] = field(default_factory=list)
    replaced: dict[str, int] = field(default_factory=dict)  # rows the destination held before (--force)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)


# -- values and checksums ----------------------------------------------------------------------


def normalise(value: Any) -> str:
    """One spelling per value, whichever engine read it."""
    if value is None:
        return "n"
    if isinstance(value, bool):
        return f"i{int(value)}"
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        # SQLite hands back 3.0 from a REAL column where PostgreSQL may give 3 from a numeric sum.
        return f"i{int(value)}" if value.is_integer() else f"f{value!r}"
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, bytes | bytearray | memoryview):
        return "b" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        return "s" + value.isoformat(" ")
    if isinstance(value, dt.date):
        return "s" + value.isoformat()
    raise CopyError(f"A value of type {type(value).__name__} cannot be checked: {value!r:.80}.")


def row_digest(row: Iterable[Any]) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for value in row:
        text = normalise(value).encode("utf-8", "surrogatepass")
        h.update(len(text).to_bytes(8, "big"))
        h.update(text)
    return h.digest()


class Checksum:
    """A table's checksum: its rows' digests in key order (keys normalised as values are)."""

    def __init__(self, columns: tuple[str, ...], key: tuple[str, ...]):
        self.key_at = [columns.index(k) for k in key]
        self.rows: list[tuple[tuple[str, ...], bytes]] = []

    def add(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            self.rows.append((tuple(normalise(row[i]) for i in self.key_at), row_digest(row)))

    def hexdigest(self) -> str:
        h = hashlib.sha256()
        for _, digest in sorted(self.rows):
            h.update(digest)
        return h.hexdigest()


# -- the copy ----------------------------------------------------------------------------------


def describe(location: str) -> str:
    """A location for messages: a URL without its password."""
    return redact(location) if location.startswith(POSTGRES_SCHEMES) else location


def open_store(location: str, *, must_exist: bool) -> Store:
    if not location.startswith(POSTGRES_SCHEMES):
        path = Path(location)
        if must_exist and not path.is_file():
            raise CopyError(f"There is no store at {location}: give the SQLite file (or postgresql:// URL) to copy.")
        if path.is_dir():
            raise CopyError(f"{location} is a folder: give the SQLite file to write, e.g. {path / 'paperradar.db'}.")
        return Store(path)
    return Store(location)  # type: ignore[arg-type]  # a URL, once the store opens PostgreSQL


def in_reference_order(tables: dict[str, TableInfo]) -> list[str]:
    """Tables so that each comes after the tables its foreign keys point at."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name not in tables:
            return
        if name in path:
            raise CopyError(f"Tables {' -> '.join((*path, name))} refer to each other in a cycle; cannot order them.")
        for ref in tables[name].references:
            visit(ref, (*path, name))
        done.append(name)

    for name in sorted(tables):
        visit(name, ())
    return done


def plan(src: TableRepository, dst: TableRepository, source: str, destination: str) -> list[TableInfo]:
    """What to copy, in order: the source's tables with the columns both ends hold and the destination fills."""
    src_tables = {n: src.info(n) for n in src.names()}
    dst_tables = {n: dst.info(n) for n in dst.names()}
    if missing := sorted(set(src_tables) - set(dst_tables)):
        raise CopyError(
            f"{destination} has no table {', '.join(missing)} that {source} has: "
            "is one of them from another paperradar version? Upgrade paperradar so both have every migration."
        )
    planned = []
    for name in in_reference_order(dst_tables):
        if name not in src_tables:
            continue
        s, d = src_tables[name], dst_tables[name]
        # rowid is the insertion order, not content: it travels where both ends keep it.
        if lost := [c for c in s.columns if c not in d.columns and c not in d.derived and c != "rowid"]:
            raise CopyError(f"{destination}'s table {name} has no column {', '.join(lost)}: the copy would lose it.")
        columns = tuple(c for c in s.columns if c in d.columns)
        planned.append(TableInfo(name, columns, d.derived, d.key, d.references))
    return planned


def checksum(repo: TableRepository, table: TableInfo, batch: int) -> tuple[int, str]:
    check = Checksum(table.columns, table.key)
    for rows in repo.batches(table.name, table.columns, table.key, batch):
        check.add(rows)
    return len(check.rows), check.hexdigest()


class _DidNotCheckOut(Exception):
    """Raised inside the destination's transaction so that a copy that differs is rolled back."""


def copy_store(
    source: str,
    destination: str,
    *,
    force: bool = False,
    batch: int = 1000,
    on_start: Callable[[int], None] | None = None,
    on_rows: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every row of ``source`` into ``destination`` and check it; see the module's docstring.

    ``on_start(total_rows)`` is called once, ``on_rows(table, n)`` after each batch written.
    """
    source, destination = str(source), str(destination)
    report = CopyReport(describe(source), describe(destination))
    if _same(source, destination):
        raise CopyError(f"{report.source} is both the source and the destination: give two different stores.")
    with open_store(source, must_exist=True) as src_store, open_store(destination, must_exist=False) as dst_store:
        if src_store.applied_migrations() != dst_store.applied_migrations():
            raise CopyError(
                f"{report.source} and {report.destination} are at different schema versions; "
                "upgrade paperradar and open both again."
            )
        src, dst = TableRepository(src_store.db), TableRepository(dst_store.db)
        tables = plan(src, dst, report.source, report.destination)
        # The rows every fresh store's migrations seed (the default profile) are not the user's: they are
        # replaced by the source's without --force.
        held = {t.name: n for t in tables if (n := dst.count(t.name) - SEEDED_ROWS.get(t.name, 0)) > 0}
        if held and not force:
            listed = ", ".join(f"{name} ({n} rows)" for name, n in held.items())
            raise CopyError(
                f"{report.destination} is not empty: {listed}. Copy into an empty store, "
                "or pass --force to delete those rows and replace them with the source's."
            )
        try:
            with src.snapshot(), dst_store.transaction():
                if on_start:
                    on_start(sum(src.count(t.name) for t in tables))
                for t in reversed(tables):
                    if t.name in held or t.name in SEEDED_ROWS:
                        dst.clear(t.name)
                report.replaced = held
                sums = {}
                for t in tables:
                    check = Checksum(t.columns, t.key)
                    for rows in src.batches(t.name, t.columns, t.key, batch):
                        dst.insert(t.name, t.columns, rows)
                        check.add(rows)
                        if on_rows:
                            on_rows(t.name, len(rows))
                    dst.restart_ids(t.name)
                    sums[t.name] = (len(check.rows), check.hexdigest())
                for t in tables:
                    copied, copied_sum = checksum(dst, t, batch)
                    report.tables.append(TableCheck(t.name, sums[t.name][0], copied, sums[t.name][1], copied_sum))
                if not report.ok:
                    raise _DidNotCheckOut
        except _DidNotCheckOut:
            return report
    report.committed = True
    return report


def _same(a: str, b: str) -> bool:
    if a.startswith(POSTGRES_SCHEMES) or b.startswith(POSTGRES_SCHEMES):
        return a == b
    return Path(a).resolve() == Path(b).resolve()
