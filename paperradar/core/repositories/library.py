"""Library items: an imported reference library, with one vector per item.

Parsing the exports and deciding when a vector is stale happen in
:mod:`paperradar.core.library`; this module reads and writes ``library_items``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..db import Database


@dataclass(frozen=True)
class LibraryRecord:
    """One item as stored: what the export said, keyed by ``item_key``."""

    item_key: str
    title: str
    source_format: str
    source_file: str
    imported_at: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    url: str | None = None
    arxiv_id: str | None = None


@dataclass(frozen=True)
class StoredItem:
    item_key: str
    content_hash: str | None  # of the text its vector was made from; None when it has none


@dataclass
class LibraryRow:
    """An item as ``paperradar library list`` shows it."""

    key: str
    title: str
    arxiv_id: str | None
    year: int | None
    source_format: str
    imported_at: str
    embedded: bool


@dataclass(frozen=True)
class LibraryText:
    """An item's text, to be embedded."""

    item_key: str
    title: str
    abstract: str


@dataclass(frozen=True)
class LibraryVector:
    item_key: str
    title: str
    arxiv_id: str | None
    vector: np.ndarray


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class LibraryRepository:
    def __init__(self, db: Database):
        self.db = db

    def stored(self, item_key: str) -> StoredItem | None:
        row = self.db.conn.execute("SELECT content_hash FROM library_items WHERE item_key = ?", (item_key,)).fetchone()
        return None if row is None else StoredItem(item_key=item_key, content_hash=row[0])

    def insert(self, item: LibraryRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO library_items (arxiv_id, doi, title, abstract, authors, year, url, source_format, "
                "source_file, imported_at, item_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*self._values(item), item.item_key),
            )

    def update(self, item: LibraryRecord, *, keep_vector: bool) -> None:
        """Overwrite a stored item; ``keep_vector=False`` clears its vector for re-embedding."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE library_items SET arxiv_id=?, doi=?, title=?, abstract=?, authors=?, year=?, url=?, "
                "source_format=?, source_file=?, imported_at=?"
                + ("" if keep_vector else ", model=NULL, content_hash=NULL, vector=NULL")
                + " WHERE item_key=?",
                (*self._values(item), item.item_key),
            )

    @staticmethod
    def _values(item: LibraryRecord) -> tuple:
        return (
            item.arxiv_id,
            item.doi,
            item.title,
            item.abstract,
            json.dumps(item.authors, ensure_ascii=False),
            item.year,
            item.url,
            item.source_format,
            item.source_file,
            item.imported_at,
        )

    def unembedded(self, model: str) -> list[LibraryText]:
        """Items with no vector, or one made by another model than ``model``."""
        return [
            LibraryText(item_key=r[0], title=r[1], abstract=r[2])
            for r in self.db.conn.execute(
                "SELECT item_key, title, abstract FROM library_items WHERE vector IS NULL OR model IS DISTINCT FROM ?",
                (model,),
            )
        ]

    def set_vectors(self, model: str, vectors: Iterable[tuple[str, str, np.ndarray]]) -> None:
        """Store (item_key, content hash, vector) triples made by ``model``, all or none."""
        with self.db.transaction() as conn:
            for key, content_hash, vec in vectors:
                conn.execute(
                    "UPDATE library_items SET model=?, content_hash=?, vector=? WHERE item_key=?",
                    (model, content_hash, np.asarray(vec, np.float32).tobytes(), key),
                )

    def rows(self) -> list[LibraryRow]:
        """Every item, most recently imported first."""
        return [
            LibraryRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]))
            for r in self.db.conn.execute(
                "SELECT item_key, title, arxiv_id, year, source_format, imported_at, vector IS NOT NULL "
                "FROM library_items ORDER BY imported_at DESC, title"
            )
        ]

    def arxiv_ids(self) -> list[str]:
        return [
            r[0] for r in self.db.conn.execute("SELECT DISTINCT arxiv_id FROM library_items WHERE arxiv_id IS NOT NULL")
        ]

    def vectors(self, model: str) -> list[LibraryVector]:
        """Every item with a vector from ``model``."""
        return [
            LibraryVector(item_key=r[0], title=r[1], arxiv_id=r[2], vector=_vector(r[3]))
            for r in self.db.conn.execute(
                "SELECT item_key, title, arxiv_id, vector FROM library_items WHERE vector IS NOT NULL AND model = ?",
                (model,),
            )
        ]

    def newest_vectors(self, model: str, limit: int) -> list[LibraryVector]:
        """The ``limit`` most recently imported items with a vector from ``model``."""
        return [
            LibraryVector(item_key=r[0], title=r[1], arxiv_id=r[2], vector=_vector(r[3]))
            for r in self.db.conn.execute(
                "SELECT item_key, title, arxiv_id, vector FROM library_items WHERE vector IS NOT NULL AND model = ? "
                "ORDER BY imported_at DESC, item_key LIMIT ?",
                (model, limit),
            )
        ]

    def count(self) -> int:
        return self.db.conn.execute("SELECT count(*) FROM library_items").fetchone()[0]
