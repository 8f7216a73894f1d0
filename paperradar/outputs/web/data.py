"""What the pages show, read from the store: search, related papers, a paper's record.

Related papers and semantic search compare one vector with every stored
embedding. Reading 100k vectors from the store takes far longer than the
comparison, so :class:`VectorIndex` keeps them in one normalised float32 matrix
loaded once and topped up when the embeddings table grows (a daily run adds a
few hundred rows; only those are read). Past ``ann_min`` vectors (200,000) it also
builds an approximate nearest-neighbour index (usearch's HNSW) in a background
thread, then answers from it and re-scores the candidates exactly; new
vectors join both as they arrive, so the index follows each ingest.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ...core.models import Assessment, Paper
from ...core.repositories.browse import SNIPPET_CLOSE as SNIPPET_CLOSE
from ...core.repositories.browse import SNIPPET_OPEN as SNIPPET_OPEN
from ...core.repositories.browse import CandidateRecord
from ...core.repositories.judgments import Judgment
from ...core.repositories.matches import PaperMatch
from ...core.store import Store

_WORD = re.compile(r'"([^"]+)"|([\w][\w\-\.]*)', re.UNICODE)


class VectorIndex:
    """All embeddings of one model as a matrix, shared by every request."""

    # Deleted embeddings are rare (a paper is re-embedded in place), so the
    # row count, which costs an index scan, is compared at most this often.
    count_every_s = 30.0

    # Below this many vectors one matrix product is fast enough (about 10 ms
    # at 100k x 384 on one core, measured by bench/web.py), and building the
    # graph costs minutes of CPU; a store reaches this after years of days.
    ann_min = 200_000
    # How many neighbours the approximate index proposes per wanted one,
    # re-scored exactly, so a near miss of the graph search rarely costs a result.
    ann_oversample = 4

    def __init__(self, model: str, ann_min: int | None = None):
        self.model = model
        if ann_min is not None:
            self.ann_min = ann_min
        self._state: tuple[list[str], dict[str, int], np.ndarray] = ([], {}, np.zeros((0, 0), dtype=np.float32))
        self._max_rowid = -1
        self._counted_at = float("-inf")
        self._lock = threading.Lock()
        # The approximate index and the number of rows of _state it covers; the
        # rows after that (appended since it was built) are searched exactly.
        self._ann = None
        self._ann_rows = 0
        self._ann_lock = threading.Lock()
        self._building: threading.Thread | None = None

    def refresh(self, store: Store) -> None:
        """Catch up with the table: new rows are appended, a shrunken table is reloaded.

        Every insert and INSERT OR REPLACE takes a rowid above the current
        maximum, and max(rowid) is one b-tree descent, so an unchanged table
        costs one cheap query per request.
        """
        max_rowid = store.browse.embeddings_max_rowid()
        check_count = time.monotonic() - self._counted_at >= self.count_every_s
        if max_rowid == self._max_rowid and not check_count:
            return
        with self._lock:
            if max_rowid != self._max_rowid:
                if self._max_rowid < 0 or not self.matrix.size:
                    self._load_all(store)
                else:
                    self._append(store)
                self._max_rowid = max_rowid
            if check_count:
                if store.browse.embeddings_count(self.model) != len(self):
                    self._load_all(store)
                self._counted_at = time.monotonic()

    def _rows(self, store: Store, after: int) -> tuple[list[str], np.ndarray, int]:
        rows = store.browse.embeddings_after(self.model, after)
        if not rows.ids:
            return [], np.zeros((0, self.matrix.shape[1] if self.matrix.size else 0), dtype=np.float32), rows.last_rowid
        m = rows.matrix
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        m /= np.where(norms == 0, 1, norms)
        return rows.ids, m, rows.last_rowid

    def _load_all(self, store: Store) -> None:
        ids, m, _ = self._rows(store, 0)
        self._publish(ids, {k: i for i, k in enumerate(ids)}, m)

    def _publish(self, ids: list[str], pos: dict[str, int], matrix: np.ndarray, changed: list[int] = ()) -> None:
        # Readers take (ids, pos, matrix) in one attribute read, so a request
        # running during a refresh sees the old or the new index, never a mix.
        self._state = (ids, pos, matrix)
        with self._ann_lock:
            if self._ann is not None and (len(ids) < self._ann_rows or matrix.shape[1] != self._ann.ndim):
                self._ann, self._ann_rows = None, 0  # reloaded: build again
            elif self._ann is not None:
                # Rewritten rows move to their new vector; new rows are added in order.
                fresh = [i for i in changed if i < self._ann_rows] + list(range(self._ann_rows, len(ids)))
                for i in changed:
                    if i < self._ann_rows:
                        self._ann.remove(i)
                if fresh:
                    self._ann.add(np.array(fresh), matrix[fresh])
                self._ann_rows = len(ids)
        if self._ann is None and len(ids) >= self.ann_min and self._building is None:
            self._building = threading.Thread(target=self._build_ann, name="ann-index", daemon=True)
            self._building.start()

    def _build_ann(self) -> None:
        from usearch.index import Index

        try:
            _, _, matrix = self._state
            ann = Index(ndim=matrix.shape[1], metric="cos", dtype="f32")
            ann.add(np.arange(len(matrix)), matrix)
            with self._ann_lock:
                ids, _, now = self._state
                if now.shape[1] == matrix.shape[1] and len(ids) >= len(matrix):
                    # Rows rewritten while it was built get their new vector; rows appended are added.
                    for i in np.flatnonzero((now[: len(matrix)] != matrix).any(axis=1)):
                        ann.remove(int(i))
                        ann.add(int(i), now[i])
                    if len(ids) > len(matrix):
                        rest = np.arange(len(matrix), len(ids))
                        ann.add(rest, now[rest])
                    self._ann, self._ann_rows = ann, len(ids)
        finally:
            self._building = None

    def wait_for_ann(self, timeout: float | None = None) -> bool:
        """Block until a background build finishes; True when the approximate index is in use."""
        if (t := self._building) is not None:
            t.join(timeout)
        return self._ann is not None

    def _append(self, store: Store) -> None:
        ids, m, _ = self._rows(store, self._max_rowid)
        old_ids, old_pos, old_matrix = self._state
        if not ids or m.shape[1] != old_matrix.shape[1]:
            self._load_all(store)
            return
        # A re-embedded paper comes back under a new rowid: overwrite its row.
        matrix = old_matrix.copy() if any(k in old_pos for k in ids) else old_matrix
        new_ids, pos, fresh_rows, changed = list(old_ids), dict(old_pos), [], []
        for i, k in enumerate(ids):
            if k in pos:
                matrix[pos[k]] = m[i]
                changed.append(pos[k])
            else:  # (arxiv_id, model) is the key: an id comes once per batch
                pos[k] = len(new_ids)
                new_ids.append(k)
                fresh_rows.append(i)
        if fresh_rows:
            matrix = np.vstack([matrix, m[fresh_rows]])
        self._publish(new_ids, pos, matrix, changed)

    @property
    def ids(self) -> list[str]:
        return self._state[0]

    @property
    def matrix(self) -> np.ndarray:
        return self._state[2]

    def __len__(self) -> int:
        return len(self._state[0])

    def nearest(self, vector: np.ndarray, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        ids, _, matrix = self._state
        if not ids or k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        with self._ann_lock:
            ann, covered = self._ann, self._ann_rows
            if ann is not None and covered <= len(ids):
                found = ann.search(vector, min((k + 1) * self.ann_oversample, covered))
                rows = np.concatenate([np.asarray(found.keys, dtype=np.int64), np.arange(covered, len(ids))])
        if ann is None or covered > len(ids):
            rows = np.arange(len(ids))
        rows = np.unique(rows[(rows >= 0) & (rows < len(ids))])
        sims = matrix[rows] @ vector
        take = min(k + 1, len(rows))
        top = np.argpartition(-sims, take - 1)[:take]
        top = top[np.argsort(-sims[top], kind="stable")]
        out = [(ids[rows[i]], float(sims[i])) for i in top if ids[rows[i]] != exclude]
        return out[:k]

    def vector(self, arxiv_id: str) -> np.ndarray | None:
        _, pos, matrix = self._state
        i = pos.get(arxiv_id)
        return None if i is None else matrix[i]


# -- search --------------------------------------------------------------------------------------


def search_terms(text: str) -> list[str]:
    """The words and "quoted phrases" of a search box, every one of which must appear.

    Operators and punctuation typed in the box are plain text (the store
    quotes each term), never a syntax error.
    """
    terms = []
    for m in _WORD.finditer(text):
        term = (m.group(1) or m.group(2)).replace('"', " ").strip()
        if term:
            terms.append(term)
    return terms


@dataclass
class Hit:
    paper: Paper
    score: float
    snippet: str | None = None


@dataclass
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    capped: bool = False  # more matches than RANK_WINDOW: total is a floor

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _papers(store: Store, ids: list[str]) -> dict[str, Paper]:
    return store.papers.get_many(ids)


# Relevance ranking scores every match; for a query matching more papers
# than this, only the most recently stored ones are ranked (a radar cares
# about recent work) so a one-word query stays fast on a large store.
RANK_WINDOW = 5000


def keyword_search(store: Store, text: str, page: int = 1, per_page: int = 20) -> SearchPage:
    terms = search_terms(text)
    result = SearchPage(page=page, per_page=per_page)
    if not terms:
        return result
    found = store.browse.keyword_matches(terms, limit=per_page, offset=(page - 1) * per_page, window=RANK_WINDOW)
    result.total, result.capped = found.total, found.capped
    papers = _papers(store, [h.arxiv_id for h in found.hits])
    result.hits = [Hit(papers[h.arxiv_id], h.score, h.snippet) for h in found.hits if h.arxiv_id in papers]
    return result


def semantic_search(
    store: Store, index: VectorIndex, query_vector: np.ndarray, page: int = 1, per_page: int = 20, limit: int = 200
) -> SearchPage:
    """The ``limit`` nearest papers to the query, paged; beyond that similarity says little."""
    index.refresh(store)
    near = index.nearest(query_vector, min(limit, page * per_page))
    chunk = near[(page - 1) * per_page : page * per_page]
    papers = _papers(store, [i for i, _ in chunk])
    return SearchPage(
        hits=[Hit(papers[i], s) for i, s in chunk if i in papers],
        total=min(limit, len(index)),
        page=page,
        per_page=per_page,
    )


def related(store: Store, index: VectorIndex, arxiv_id: str, k: int = 8) -> list[Hit]:
    index.refresh(store)
    v = index.vector(arxiv_id)
    if v is None:
        return []
    near = index.nearest(v, k, exclude=arxiv_id)
    papers = _papers(store, [i for i, _ in near])
    return [Hit(papers[i], s) for i, s in near if i in papers]


# -- a paper's record ----------------------------------------------------------------------------


def candidate_rows(store: Store, arxiv_id: str) -> list[CandidateRecord]:
    return store.browse.candidates_of(arxiv_id)


def judgment_rows(store: Store, arxiv_id: str) -> list[Judgment]:
    return store.judgments.for_paper(arxiv_id)


def assessment_rows(store: Store, arxiv_id: str) -> list[Assessment]:
    return store.assessments.for_paper(arxiv_id)


def match_rows(store: Store, arxiv_id: str) -> list[PaperMatch]:
    """Every comparison the paper was in, from its side: win / loss / tie and the judge's reason."""
    return store.matches.for_paper(arxiv_id)


def days_with_digest(store: Store) -> list[str]:
    return store.candidate_days()
