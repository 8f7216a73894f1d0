"""Works: where each stored paper appears, its identifiers, and which sources were fetched.

The rules that decide whether an incoming paper is a known work live in
:mod:`paperradar.core.works`; this module only reads and writes the
``paper_locations``, ``work_ids`` and ``source_fetches`` tables (and the few
``papers`` and ``announcements`` columns a merge touches).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from ..db import Database
from ..models import Location
from .chunks import chunks
from .sql import json_has, json_merge, upsert


@dataclass(frozen=True)
class StoredLocation:
    """A location already on record: the work it belongs to and the version seen there."""

    key: str
    version: int | None


@dataclass(frozen=True)
class CitingWork:
    """A work found citing one of your papers."""

    arxiv_id: str
    title: str
    url: str | None
    cites: list[str]


class WorkRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- fetch bookkeeping ----------------------------------------------------

    def fetched(self, source: str, day: dt.date) -> bool:
        row = self.db.conn.execute(
            "SELECT 1 FROM source_fetches WHERE source = ? AND day = ?", (source, day.isoformat())
        ).fetchone()
        return row is not None

    def any_fetched(self, day: dt.date) -> bool:
        return (
            self.db.conn.execute("SELECT 1 FROM source_fetches WHERE day = ?", (day.isoformat(),)).fetchone()
            is not None
        )

    def record_fetch(self, source: str, day: dt.date, papers: int, at: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                upsert("source_fetches", ("source", "day", "fetched_at", "papers"), ("source", "day")),
                (source, day.isoformat(), at, papers),
            )

    # -- lookups --------------------------------------------------------------

    def has_paper(self, key: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM papers WHERE arxiv_id = ?", (key,)).fetchone() is not None

    def location(self, source: str, source_id: str) -> StoredLocation | None:
        row = self.db.conn.execute(
            "SELECT arxiv_id, version FROM paper_locations WHERE source = ? AND source_id = ?", (source, source_id)
        ).fetchone()
        return StoredLocation(key=row[0], version=row[1]) if row else None

    def key_for(self, kind: str, value: str) -> str | None:
        """The work an identifier (``arxiv``, ``doi``, ``title`` key, …) was first recorded for."""
        row = self.db.conn.execute(
            "SELECT arxiv_id FROM work_ids WHERE kind = ? AND value = ?", (kind, value)
        ).fetchone()
        return row[0] if row else None

    def identifiers(self, key: str) -> dict[str, list[str]]:
        """Every identifier recorded for the work ``key``, by kind."""
        out: dict[str, list[str]] = {}
        for kind, value in self.db.conn.execute("SELECT kind, value FROM work_ids WHERE arxiv_id = ?", (key,)):
            out.setdefault(kind, []).append(value)
        return out

    def announced_on(self, key: str, day: dt.date) -> bool:
        row = self.db.conn.execute(
            "SELECT 1 FROM announcements WHERE arxiv_id = ? AND day = ?", (key, day.isoformat())
        ).fetchone()
        return row is not None

    def announced_before(self, key: str, day: dt.date) -> bool:
        row = self.db.conn.execute(
            "SELECT 1 FROM announcements WHERE arxiv_id = ? AND day < ?", (key, day.isoformat())
        ).fetchone()
        return row is not None

    # -- writes (each joins the caller's transaction when there is one) --------

    def announce_replacement(self, key: str, day: dt.date, version: int) -> None:
        """List ``key`` on ``day`` as a replacement, unless it is listed that day already."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO announcements (arxiv_id, day, announce_type, version) VALUES (?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                (key, day.isoformat(), "replace", version),
            )

    def fill_gaps(self, key: str, abstract: str, authors: list[str]) -> None:
        """Set the stored abstract and authors of ``key`` where they are empty, and only there."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE papers SET abstract = CASE WHEN abstract = '' THEN ? ELSE abstract END, "
                "authors = CASE WHEN authors = '[]' THEN ? ELSE authors END WHERE arxiv_id = ?",
                (abstract, json.dumps(authors, ensure_ascii=False), key),
            )

    def put_location(self, key: str, loc: Location, day: dt.date, at: str) -> None:
        """Record ``loc`` for ``key``; a known location keeps its first day and gains newer facts."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO paper_locations (source, source_id, arxiv_id, kind, url, version, extra, first_seen, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(source, source_id) DO UPDATE SET "
                "url = COALESCE(excluded.url, paper_locations.url), "
                "version = CASE WHEN COALESCE(excluded.version, 0) > COALESCE(paper_locations.version, 0) "
                "THEN excluded.version ELSE paper_locations.version END, "
                f"extra = {json_merge(self.db.dialect, 'paper_locations.extra', 'excluded.extra')}, "
                "updated_at = excluded.updated_at",
                (
                    loc.source,
                    loc.source_id,
                    key,
                    loc.kind,
                    loc.url,
                    loc.version,
                    json.dumps(loc.extra, ensure_ascii=False),
                    day.isoformat(),
                    at,
                ),
            )

    def add_identifiers(self, key: str, ids: Iterable[tuple[str, str]]) -> None:
        """Record (kind, value) identifiers of ``key``; one already recorded keeps its first work."""
        with self.db.transaction() as conn:
            for kind, value in ids:
                conn.execute(
                    "INSERT INTO work_ids (kind, value, arxiv_id) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                    (kind, value, key),
                )

    def set_doi(self, key: str, doi: str) -> None:
        """Give ``key`` a DOI unless it has one."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE papers SET doi = COALESCE(doi, ?) WHERE arxiv_id = ?", (doi, key))

    # -- reading --------------------------------------------------------------

    def locations(self, keys: Iterable[str]) -> dict[str, list[Location]]:
        """Every place each work appears, first seen first (an empty list for an unknown key)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[Location]] = {k: [] for k in keys}
        for chunk, marks in chunks(keys):
            for key, source, source_id, kind, url, version, extra in self.db.conn.execute(
                "SELECT arxiv_id, source, source_id, kind, url, version, extra FROM paper_locations "
                f"WHERE arxiv_id IN ({marks}) ORDER BY first_seen, rowid",
                chunk,
            ):
                out[key].append(
                    Location(
                        source=source,
                        kind=kind,
                        source_id=source_id,
                        url=url,
                        version=version,
                        extra=json.loads(extra),
                    )
                )
        return out

    def citing(self, day: dt.date) -> list[CitingWork]:
        """Works first seen on ``day`` at a location that cites one of your papers."""
        rows = self.db.conn.execute(
            "SELECT l.arxiv_id, p.title, l.url, l.extra FROM paper_locations l JOIN papers p USING (arxiv_id) "
            f"WHERE l.first_seen = ? AND {json_has(self.db.dialect, 'l.extra', 'cites')} ORDER BY l.rowid",
            (day.isoformat(),),
        ).fetchall()
        return [
            CitingWork(arxiv_id=key, title=title, url=url, cites=json.loads(extra)["cites"])
            for key, title, url, extra in rows
        ]

    def dois(self, keys: Iterable[str]) -> dict[str, str]:
        """The DOI of each of ``keys`` that has one."""
        keys = list(keys)
        out: dict[str, str] = {}
        for chunk, marks in chunks(keys):
            out.update(
                self.db.conn.execute(
                    f"SELECT arxiv_id, doi FROM papers WHERE doi IS NOT NULL AND arxiv_id IN ({marks})", chunk
                ).fetchall()
            )
        return out
