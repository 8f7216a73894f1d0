"""What the web pages read: full-text search, embeddings by row, and a paper's prefilter days.

The web app reads, never writes, through this repository; a paper's matches,
assessments and judgments come from :mod:`.matches`, :mod:`.assessments` and
:mod:`.judgments`, so each record is decoded in one place whatever shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..db import Database
from ..models import Reason

SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"


@dataclass(frozen=True)
class KeywordHit:
    arxiv_id: str
    score: float  # higher is better (negated bm25)
    snippet: str


@dataclass
class KeywordMatches:
    hits: list[KeywordHit] = field(default_factory=list)
    total: int = 0
    capped: bool = False  # more matches than the window: total is a floor


@dataclass
class VectorRows:
    """Embeddings stored after some rowid, as a float32 matrix (one row per id)."""

    ids: list[str]
    matrix: np.ndarray
    last_rowid: int


@dataclass(frozen=True)
class CandidateRecord:
    """One day's prefilter verdict on a paper."""

    day: str
    score: float
    rank: int | None
    shortlisted: bool
    excluded: bool
    reasons: list[Reason]  # strongest first


class BrowseRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- full-text search -------------------------------------------------------------------

    def keyword_matches(self, query: str, *, limit: int, offset: int, window: int) -> KeywordMatches:
        """Papers matching an FTS5 ``query``, best first, with a highlighted abstract snippet.

        Relevance is computed for the ``window`` most recently stored matches
        only, so a one-word query stays fast on a large store.
        """
        out = KeywordMatches()
        conn = self.db.conn
        # FTS5 walks matches in rowid order and stops at the bound without scoring them.
        bound = conn.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (query, window - 1),
        ).fetchone()
        where, params = "", [query]
        if bound is None:
            out.total = conn.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", (query,)).fetchone()[0]
        else:
            out.total, out.capped = window, True
            where, params = "AND papers_fts.rowid >= ?", [query, bound[0]]
        # Title matches weigh most, then authors, then the abstract. Rank first and
        # make snippets only for the page: SQLite would build one for every match.
        ranked = conn.execute(
            f"SELECT rowid, bm25(papers_fts, 10.0, 1.0, 4.0) AS rank FROM papers_fts WHERE papers_fts MATCH ? {where} "
            "ORDER BY rank LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        if not ranked:
            return out
        marks = ",".join("?" * len(ranked))
        found = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT papers_fts.rowid, p.arxiv_id, "
                f"snippet(papers_fts, 1, '{SNIPPET_OPEN}', '{SNIPPET_CLOSE}', '…', 24) "
                "FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                f"WHERE papers_fts MATCH ? AND papers_fts.rowid IN ({marks})",
                (query, *[r[0] for r in ranked]),
            )
        }
        out.hits = [
            KeywordHit(found[rowid][0], -float(rank), found[rowid][1]) for rowid, rank in ranked if rowid in found
        ]
        return out

    # -- embeddings by rowid (the web's in-memory vector index) -----------------------------

    def embeddings_max_rowid(self) -> int:
        """The newest embedding's rowid (0 when none): every insert or replace takes a higher one."""
        return self.db.conn.execute("SELECT coalesce(max(rowid), 0) FROM embeddings").fetchone()[0]

    def embeddings_count(self, model: str) -> int:
        return self.db.conn.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]

    def embeddings_after(self, model: str, rowid: int) -> VectorRows:
        """``model``'s vectors stored after ``rowid``, in rowid order (an empty matrix has no columns)."""
        ids, blobs, last = [], [], rowid
        for r, arxiv_id, blob in self.db.conn.execute(
            "SELECT rowid, arxiv_id, vector FROM embeddings WHERE model = ? AND rowid > ? ORDER BY rowid",
            (model, rowid),
        ):
            ids.append(arxiv_id)
            blobs.append(blob)
            last = r
        if not blobs:
            return VectorRows(ids, np.zeros((0, 0), dtype=np.float32), last)
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()
        return VectorRows(ids, matrix, last)

    # -- one paper's history ----------------------------------------------------------------

    def candidates_of(self, arxiv_id: str) -> list[CandidateRecord]:
        """Each day the prefilter scored the paper, newest first."""
        rows = self.db.conn.execute(
            "SELECT day, score, rank, shortlisted, excluded, reasons FROM candidates WHERE arxiv_id = ? "
            "ORDER BY day DESC",
            (arxiv_id,),
        ).fetchall()
        return [
            CandidateRecord(
                day=r[0],
                score=r[1],
                rank=r[2],
                shortlisted=bool(r[3]),
                excluded=bool(r[4]),
                reasons=sorted((Reason(**x) for x in json.loads(r[5])), key=lambda x: -x.score),
            )
            for r in rows
        ]
