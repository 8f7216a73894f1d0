"""What the web pages read: full-text search, embeddings by row, and a paper's prefilter days.

The web app reads, never writes, through this repository; a paper's matches,
assessments and judgments come from :mod:`.matches`, :mod:`.assessments` and
:mod:`.judgments`, so each record is decoded in one place whatever shows it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..db import Database
from ..models import Reason

SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"
# PostgreSQL ranks at most this many of the most recent matches (bench/lab.py:
# ranking 5,000 matches of a two-word query took 90 ms at 100k papers, 1,000 about 30).
PG_RANK_WINDOW = 1000


@dataclass(frozen=True)
class KeywordHit:
    arxiv_id: str
    score: float  # higher is better (negated bm25 on SQLite, ts_rank on PostgreSQL)
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


def fts5_query(terms: Sequence[str]) -> str:
    """Terms as an FTS5 query: each quoted, so operators and punctuation are plain text, never a syntax error."""
    return " ".join('"' + t.replace('"', " ") + '"' for t in terms)


class BrowseRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # a paper's candidate history is this profile's

    # -- full-text search -------------------------------------------------------------------

    def keyword_matches(self, terms: Sequence[str], *, limit: int, offset: int, window: int) -> KeywordMatches:
        """Papers containing every word or phrase of ``terms``, best first, with a highlighted abstract snippet.

        Relevance is computed for the ``window`` most recently stored matches
        only, so a one-word query stays fast on a large store. SQLite searches
        its FTS5 index, PostgreSQL the papers' tsvector column (GIN index).
        """
        if not terms:
            return KeywordMatches()
        if self.db.dialect == "postgresql":
            return self._tsvector_matches(terms, limit=limit, offset=offset, window=window)
        query = fts5_query(terms)
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

    def _tsvector_matches(self, terms: Sequence[str], *, limit: int, offset: int, window: int) -> KeywordMatches:
        # Ranking reads each match's tsvector from its row (FTS5 ranks from
        # the index alone), so the window of recent matches is smaller here.
        window = min(window, PG_RANK_WINDOW)
        out = KeywordMatches()
        conn = self.db.conn
        # Each term a phrase, all of them required: the same meaning as the FTS5 query.
        tsq = " && ".join(["phraseto_tsquery('english', ?)"] * len(terms))
        bound = conn.execute(
            f"SELECT rowid FROM papers WHERE search @@ ({tsq}) ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (*terms, window - 1),
        ).fetchone()
        where, params = "", list(terms)
        if bound is None:
            out.total = conn.execute(f"SELECT count(*) FROM papers WHERE search @@ ({tsq})", terms).fetchone()[0]
        else:
            out.total, out.capped = window, True
            where, params = "AND rowid >= ?", [*terms, bound[0]]
        # ts_rank's default weights put title (A) over authors (B) over abstract (C).
        ranked = conn.execute(
            f"SELECT arxiv_id, ts_rank(search, ({tsq})) AS rank FROM papers WHERE search @@ ({tsq}) {where} "
            "ORDER BY rank DESC, rowid DESC LIMIT ? OFFSET ?",
            (*terms, *params, limit, offset),
        ).fetchall()
        if not ranked:
            return out
        marks = ",".join("?" * len(ranked))
        # The snippet marks any term the abstract has (the match may be in the title), like FTS5's snippet().
        any_term = " || ".join(["phraseto_tsquery('english', ?)"] * len(terms))
        options = f"StartSel={SNIPPET_OPEN}, StopSel={SNIPPET_CLOSE}, MaxWords=24, MinWords=12, FragmentDelimiter=…"
        snippets = dict(
            conn.execute(
                f"SELECT arxiv_id, ts_headline('english', abstract, ({any_term}), ?) FROM papers "
                f"WHERE arxiv_id IN ({marks})",
                (*terms, options, *[r[0] for r in ranked]),
            ).fetchall()
        )
        out.hits = [KeywordHit(arxiv_id, float(rank), snippets.get(arxiv_id, "")) for arxiv_id, rank in ranked]
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
            "SELECT day, score, rank, shortlisted, excluded, reasons FROM candidates WHERE profile_id = ? "
            "AND arxiv_id = ? ORDER BY day DESC",
            (self.profile_id, arxiv_id),
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
