"""Papers: the ``papers`` table and the ``announcements`` that say on which day each appeared."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..clock import utcnow
from ..db import Database
from ..models import Paper, cap_paper
from .chunks import chunks

# The columns paper_from_row reads, in its order; ``p`` is the papers table.
PAPER_COLS = (
    "p.arxiv_id, p.version, p.title, p.abstract, p.authors, p.categories, "
    "p.primary_category, p.comment, p.submitted, p.updated"
)


def paper_from_row(row: sqlite3.Row | tuple, announce_type: str = "new", day: str | None = None) -> Paper:
    """A :class:`Paper` from the first ten columns selected as :data:`PAPER_COLS`."""
    return Paper(
        arxiv_id=row[0],
        version=row[1],
        title=row[2],
        abstract=row[3],
        authors=json.loads(row[4]),
        categories=json.loads(row[5]),
        primary_category=row[6],
        comment=row[7],
        submitted=row[8],
        updated=row[9],
        announce_type=announce_type,
        announced=day,
    )


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # "<id>: title, abstract" kept over empty incoming fields
    truncated: list[str] = field(default_factory=list)  # "<id>: abstract" cut to the size caps


class PaperRepository:
    def __init__(self, db: Database):
        self.db = db

    def upsert(self, papers: Iterable[Paper], day: dt.date | None = None) -> UpsertResult:
        """Store papers announced on ``day`` (their own ``announced`` if None).

        A newer version replaces the stored text; the first announcement day is
        kept so a replacement does not pretend to be new. An empty incoming
        title, abstract, author list or category list never replaces a stored
        one (a broken feed item must not wipe a paper): those are listed in
        ``kept``. Fields over the size caps are cut and listed in ``truncated``.
        """
        result = UpsertResult()
        now = utcnow()
        with self.db.transaction() as conn:
            for p in papers:
                p, cut = cap_paper(p)
                if cut:
                    result.truncated.append(f"{p.arxiv_id}: {', '.join(cut)}")
                when = day or p.announced
                row = conn.execute(
                    "SELECT version, title, abstract, authors, categories, comment FROM papers WHERE arxiv_id = ?",
                    (p.arxiv_id,),
                ).fetchone()
                values = (
                    p.version,
                    p.title,
                    p.abstract,
                    json.dumps(p.authors, ensure_ascii=False),
                    json.dumps(p.categories),
                    p.primary_category,
                    p.comment,
                    p.submitted.isoformat() if p.submitted else None,
                    p.updated.isoformat() if p.updated else None,
                )
                if row is not None:
                    # Same positions in row and values: title 1, abstract 2, authors 3, categories 4.
                    fields = {1: "title", 2: "abstract", 3: "authors", 4: "categories"}
                    kept = [i for i in fields if values[i] in ("", "[]") and row[i] not in ("", "[]")]
                    if kept:
                        values = tuple(row[i] if i in kept else v for i, v in enumerate(values))
                        result.kept.append(f"{p.arxiv_id}: {', '.join(fields[i] for i in kept)}")
                if row is None:
                    conn.execute(
                        "INSERT INTO papers (version, title, abstract, authors, categories, "
                        "primary_category, comment, submitted, updated, arxiv_id, "
                        "first_announced, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*values, p.arxiv_id, when.isoformat() if when else None, now),
                    )
                    result.new += 1
                elif p.version >= row[0] and tuple(row) != values[:4] + (values[4], values[6]):
                    conn.execute(
                        "UPDATE papers SET version=?, title=?, abstract=?, authors=?, "
                        "categories=?, primary_category=?, comment=?, submitted=COALESCE(?, submitted), "
                        "updated=COALESCE(?, updated) WHERE arxiv_id=?",
                        (*values, p.arxiv_id),
                    )
                    result.updated += 1
                else:
                    result.unchanged += 1
                if cut:
                    conn.execute("UPDATE papers SET truncated = ? WHERE arxiv_id = ?", (json.dumps(cut), p.arxiv_id))
                if when is not None:
                    conn.execute(
                        "INSERT INTO announcements (arxiv_id, day, announce_type, version) "
                        "VALUES (?,?,?,?) ON CONFLICT(arxiv_id, day) DO UPDATE SET "
                        "announce_type=excluded.announce_type, version=excluded.version",
                        (p.arxiv_id, when.isoformat(), p.announce_type, p.version),
                    )
        return result

    def for_day(self, day: dt.date, *, include_replacements: bool = False) -> list[Paper]:
        types = ("new", "cross", "replace", "replace-cross") if include_replacements else ("new", "cross")
        marks = ",".join("?" * len(types))
        rows = self.db.conn.execute(
            f"SELECT {PAPER_COLS}, a.announce_type, a.day FROM announcements a "
            f"JOIN papers p USING (arxiv_id) WHERE a.day = ? AND a.announce_type IN ({marks}) "
            "ORDER BY p.arxiv_id",
            (day.isoformat(), *types),
        ).fetchall()
        return [paper_from_row(r[:10], r[10], r[11]) for r in rows]

    def get(self, arxiv_id: str) -> Paper | None:
        row = self.db.conn.execute(
            f"SELECT {PAPER_COLS}, p.first_announced FROM papers p WHERE p.arxiv_id = ?",
            (arxiv_id,),
        ).fetchone()
        return paper_from_row(row[:10], "new", row[10]) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Paper]:
        """What :meth:`get` gives for each of ``ids`` that is stored, in one query per 500 ids."""
        out: dict[str, Paper] = {}
        for chunk, marks in chunks(list(dict.fromkeys(ids))):
            for row in self.db.conn.execute(
                f"SELECT {PAPER_COLS}, p.first_announced FROM papers p WHERE p.arxiv_id IN ({marks})", chunk
            ):
                out[row[0]] = paper_from_row(row[:10], "new", row[10])
        return out

    def by_ids(self, ids: Iterable[str]) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for chunk, marks in chunks(list(dict.fromkeys(ids))):
            for r in self.db.conn.execute(f"SELECT {PAPER_COLS} FROM papers p WHERE p.arxiv_id IN ({marks})", chunk):
                out[r[0]] = paper_from_row(r)
        return out

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored title of each of ``ids`` that is in the store."""
        out: dict[str, str] = {}
        for chunk, marks in chunks(list(ids)):
            out.update(self.db.conn.execute(f"SELECT arxiv_id, title FROM papers WHERE arxiv_id IN ({marks})", chunk))
        return out

    def days(self) -> list[str]:
        """Every announcement day on record, newest first."""
        return [r[0] for r in self.db.conn.execute("SELECT DISTINCT day FROM announcements ORDER BY day DESC")]
