"""The store's side of "one record per work": locations, identifiers and fetches.

:meth:`Works.ingest` is how every source's papers enter the store. Each paper
is first looked up (its own location, its key, its arXiv id, DOI and title
key; see :mod:`paperradar.core.dedup`); a paper of a known work adds a location to
that work instead of a second record, so it is embedded, judged and ranked
once. A work already announced on an earlier day is not announced again when
another source lists it: its digest, embedding and judgment already exist.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from .dedup import conflicting, identifiers, normalize_doi
from .models import Location, Paper, cap_paper
from .store import Store, UpsertResult, utcnow


@dataclass
class IngestResult:
    new: int = 0
    updated: int = 0
    merged: int = 0  # papers that turned out to be a stored work listed by another source
    unchanged: int = 0
    merges: list[tuple[str, str]] = field(default_factory=list)  # (incoming id, stored work)
    kept: list[str] = field(default_factory=list)  # see UpsertResult
    truncated: list[str] = field(default_factory=list)

    def add(self, r: UpsertResult) -> None:
        self.new += r.new
        self.updated += r.updated
        self.unchanged += r.unchanged
        self.kept += r.kept
        self.truncated += r.truncated


class Works:
    def __init__(self, store: Store):
        self.store = store

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    # -- fetch bookkeeping -------------------------------------------------------------------

    def fetched(self, source: str, day: dt.date) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM source_fetches WHERE source = ? AND day = ?", (source, day.isoformat())
        ).fetchone()
        return row is not None

    def any_fetched(self, day: dt.date) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM source_fetches WHERE day = ?", (day.isoformat(),)).fetchone() is not None
        )

    def record_fetch(self, source: str, day: dt.date, papers: int) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO source_fetches (source, day, fetched_at, papers) VALUES (?,?,?,?)",
                (source, day.isoformat(), utcnow(), papers),
            )

    # -- resolving ---------------------------------------------------------------------------

    def _stored_ids(self, key: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for kind, value in self.conn.execute("SELECT kind, value FROM work_ids WHERE arxiv_id = ?", (key,)):
            out.setdefault(kind, []).append(value)
        return out

    def resolve(self, paper: Paper) -> str | None:
        """The key of the stored work ``paper`` is an appearance of, or None for a new work."""
        for loc in paper.locations[:1]:
            row = self.conn.execute(
                "SELECT arxiv_id FROM paper_locations WHERE source = ? AND source_id = ?", (loc.source, loc.source_id)
            ).fetchone()
            if row:
                return row[0]
        if self.conn.execute("SELECT 1 FROM papers WHERE arxiv_id = ?", (paper.arxiv_id,)).fetchone():
            return paper.arxiv_id
        ids = identifiers(paper)
        published = [normalize_doi(loc.extra.get("published_doi")) for loc in paper.locations[:1]]
        strong = [(k, ids[k]) for k in ("arxiv", "doi") if k in ids] + [("doi", d) for d in published if d]
        for kind, value in strong:
            row = self.conn.execute(
                "SELECT arxiv_id FROM work_ids WHERE kind = ? AND value = ?", (kind, value)
            ).fetchone()
            if row:
                return row[0]
        if "title" in ids:
            row = self.conn.execute(
                "SELECT arxiv_id FROM work_ids WHERE kind = 'title' AND value = ?", (ids["title"],)
            ).fetchone()
            if row and not conflicting(self._stored_ids(row[0]), ids):
                return row[0]
        return None

    # -- writing -----------------------------------------------------------------------------

    def ingest(self, papers: Iterable[Paper], day: dt.date) -> IngestResult:
        """Store one source's papers of ``day``, merging appearances of known works."""
        result = IngestResult()
        with self.store.transaction():
            for p in papers:
                self._ingest_one(p, day, result)
        return result

    def _ingest_one(self, p: Paper, day: dt.date, result: IngestResult) -> None:
        loc = p.locations[0] if p.locations else None
        key = self.resolve(p)
        stored_loc = self._location(loc) if loc else None
        if key is None:
            result.add(self.store.upsert_papers([p], day))
            key = p.arxiv_id
        elif key == p.arxiv_id and (loc is None or loc.kind == "arxiv"):
            # arXiv's own record: the store's version and announcement rules apply as they always have.
            result.add(self.store.upsert_papers([p], day))
        elif stored_loc is not None and (loc.version or 0) <= (stored_loc["version"] or 0):
            # Listed again by the same source (a feed keeps old entries): only its facts may change.
            result.unchanged += 1
        elif stored_loc is not None and key == p.arxiv_id:
            # A newer version at the source the record came from: its text is replaced.
            kind = "replace" if self._announced_before(key, day) else p.announce_type
            result.add(self.store.upsert_papers([p.model_copy(update={"announce_type": kind})], day))
        else:
            result.merged += 1
            result.merges.append((p.arxiv_id, key))
            self._fill_gaps(key, p)
            if stored_loc is not None and not self._announced_on(key, day):
                # A newer version, at another source, of a work whose record came from elsewhere.
                self.conn.execute(
                    "INSERT OR IGNORE INTO announcements (arxiv_id, day, announce_type, version) VALUES (?,?,?,?)",
                    (key, day.isoformat(), "replace", loc.version or 1),
                )
        if loc is not None:
            self._put_location(key, loc, day)
        self._index(key, p)

    def _location(self, loc: Location) -> sqlite3.Row | None:
        cur = self.conn.execute(
            "SELECT arxiv_id, version, extra FROM paper_locations WHERE source = ? AND source_id = ?",
            (loc.source, loc.source_id),
        )
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def _announced_on(self, key: str, day: dt.date) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM announcements WHERE arxiv_id = ? AND day = ?", (key, day.isoformat())
        ).fetchone()
        return row is not None

    def _announced_before(self, key: str, day: dt.date) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM announcements WHERE arxiv_id = ? AND day < ?", (key, day.isoformat())
        ).fetchone()
        return row is not None

    def _fill_gaps(self, key: str, p: Paper) -> None:
        # Another source's copy never replaces the stored text (that would re-embed
        # and re-judge the work), but it may supply what the first source lacked, within the size caps.
        p, _ = cap_paper(p)
        self.conn.execute(
            "UPDATE papers SET abstract = CASE WHEN abstract = '' THEN ? ELSE abstract END, "
            "authors = CASE WHEN authors = '[]' THEN ? ELSE authors END WHERE arxiv_id = ?",
            (p.abstract, json.dumps(p.authors, ensure_ascii=False), key),
        )

    def _put_location(self, key: str, loc: Location, day: dt.date) -> None:
        self.conn.execute(
            "INSERT INTO paper_locations (source, source_id, arxiv_id, kind, url, version, extra, first_seen, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(source, source_id) DO UPDATE SET "
            "url = COALESCE(excluded.url, url), version = MAX(COALESCE(excluded.version, 0), COALESCE(version, 0)), "
            "extra = json_patch(extra, excluded.extra), updated_at = excluded.updated_at",
            (
                loc.source,
                loc.source_id,
                key,
                loc.kind,
                loc.url,
                loc.version,
                json.dumps(loc.extra, ensure_ascii=False),
                day.isoformat(),
                utcnow(),
            ),
        )

    def _index(self, key: str, p: Paper) -> None:
        ids = list(identifiers(p).items())
        # A preprint's journal DOI finds it when the journal's feed lists the published version.
        ids += [("doi", d) for loc in p.locations[:1] if (d := normalize_doi(loc.extra.get("published_doi")))]
        for kind, value in ids:
            self.conn.execute(
                "INSERT OR IGNORE INTO work_ids (kind, value, arxiv_id) VALUES (?,?,?)", (kind, value, key)
            )
        if doi := normalize_doi(p.doi):
            self.conn.execute("UPDATE papers SET doi = COALESCE(doi, ?) WHERE arxiv_id = ?", (doi, key))

    # -- reading -----------------------------------------------------------------------------

    def locations(self, keys: Iterable[str]) -> dict[str, list[Location]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[Location]] = {k: [] for k in keys}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, source, source_id, kind, url, version, extra in self.conn.execute(
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

    def new_citations(self, day: dt.date) -> list[dict]:
        """Works first found citing one of your papers on ``day`` (announced that day or earlier)."""
        rows = self.conn.execute(
            "SELECT l.arxiv_id, p.title, l.url, l.extra FROM paper_locations l JOIN papers p USING (arxiv_id) "
            "WHERE l.first_seen = ? AND json_extract(l.extra, '$.cites') IS NOT NULL ORDER BY l.rowid",
            (day.isoformat(),),
        ).fetchall()
        return [
            {"arxiv_id": key, "title": title, "url": url, "cites": json.loads(extra)["cites"]}
            for key, title, url, extra in rows
        ]

    def dois(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        out: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(
                self.conn.execute(
                    f"SELECT arxiv_id, doi FROM papers WHERE doi IS NOT NULL AND arxiv_id IN ({marks})", chunk
                ).fetchall()
            )
        return out

    def attach(self, papers: list[Paper]) -> list[Paper]:
        """``papers`` with their DOI and every place they appear filled in."""
        keys = [p.arxiv_id for p in papers]
        locs, dois = self.locations(keys), self.dois(keys)
        return [
            p.model_copy(update={"locations": locs.get(p.arxiv_id) or p.locations, "doi": dois.get(p.arxiv_id, p.doi)})
            for p in papers
        ]
