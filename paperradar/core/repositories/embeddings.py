"""Embeddings: one float32 vector per paper and model, with the hash of the text it was made from."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..clock import utcnow
from ..db import Database
from .chunks import chunks


class EmbeddingRepository:
    def __init__(self, db: Database):
        self.db = db

    def ids(self, model: str) -> list[str]:
        """Every paper with a vector from ``model``, in id order."""
        rows = self.db.conn.execute("SELECT arxiv_id FROM embeddings WHERE model = ? ORDER BY arxiv_id", (model,))
        return [r[0] for r in rows]

    def get(self, ids: list[str], model: str) -> dict[str, tuple[str, np.ndarray]]:
        """``{arxiv_id: (content_hash, vector)}`` for those of ``ids`` with a vector from ``model``."""
        out: dict[str, tuple[str, np.ndarray]] = {}
        for chunk, marks in chunks(ids):
            for arxiv_id, h, blob in self.db.conn.execute(
                f"SELECT arxiv_id, content_hash, vector FROM embeddings WHERE model = ? AND arxiv_id IN ({marks})",
                (model, *chunk),
            ):
                out[arxiv_id] = (h, np.frombuffer(blob, dtype=np.float32))
        return out

    def put(self, model: str, rows: Iterable[tuple[str, str, np.ndarray]]) -> int:
        """Store ``(arxiv_id, content_hash, vector)`` rows, replacing older vectors; return how many."""
        now = utcnow()
        n = 0
        with self.db.transaction() as conn:
            for arxiv_id, content_hash, vec in rows:
                v = np.asarray(vec, dtype=np.float32)
                # Delete and insert rather than update: a rewritten vector takes
                # a new rowid, which is how the web's vector index sees it changed.
                conn.execute("DELETE FROM embeddings WHERE arxiv_id = ? AND model = ?", (arxiv_id, model))
                conn.execute(
                    "INSERT INTO embeddings (arxiv_id, model, content_hash, dim, vector, "
                    "created_at) VALUES (?,?,?,?,?,?)",
                    (arxiv_id, model, content_hash, v.shape[0], v.tobytes(), now),
                )
                n += 1
        return n
