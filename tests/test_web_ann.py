"""The related-papers index past ``ann_min`` vectors: an HNSW index built in the background, kept current."""

from __future__ import annotations

import numpy as np
import pytest

from paperradar.core.store import Store
from paperradar.outputs.web.data import VectorIndex

pytestmark = pytest.mark.postgres
DIM = 32


def clustered(n: int, seed: int) -> np.ndarray:
    # Papers come in topics: vectors around a few centres, as real embeddings are.
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, DIM))
    m = centres[rng.integers(0, 12, n)] + 0.3 * rng.normal(size=(n, DIM))
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def exact(matrix: np.ndarray, ids: list[str], v: np.ndarray, k: int) -> list[str]:
    return [ids[i] for i in np.argsort(-(matrix @ v), kind="stable")[:k]]


def test_past_ann_min_the_index_answers_like_exact_search_and_follows_new_rows(store_location):
    ids = [f"2601.{i:05d}" for i in range(600)]
    m = clustered(600, 0)
    with Store(store_location) as store:
        store.put_embeddings("m", [(a, "h", v) for a, v in zip(ids, m, strict=True)])
        index = VectorIndex("m", ann_min=500)
        index.refresh(store)
        assert index.wait_for_ann(timeout=120), "the approximate index was never built"
        agree = np.mean(
            [
                len(set(a for a, _ in index.nearest(m[q], 10)) & set(exact(m, ids, m[q], 10))) / 10
                for q in range(0, 600, 20)
            ]
        )
        assert agree >= 0.95
        # The next ingest: new vectors and one re-embedded paper reach the index without a rebuild.
        new = clustered(40, 1)
        new_ids = [f"2602.{i:05d}" for i in range(40)]
        store.put_embeddings("m", [(a, "h", v) for a, v in zip(new_ids, new, strict=True)])
        store.put_embeddings("m", [(ids[3], "h2", new[5])])
        index.refresh(store)
        ann = index._ann
        assert ann is not None and len(index) == 640
        assert index.nearest(new[7], 1)[0][0] == new_ids[7]
        assert {a for a, _ in index.nearest(new[5], 2)} == {new_ids[5], ids[3]}
        index.refresh(store)
        assert index._ann is ann  # kept up to date in place, not rebuilt


def test_below_ann_min_no_index_is_built(store_location):
    ids = [f"2601.{i:05d}" for i in range(50)]
    with Store(store_location) as store:
        store.put_embeddings("m", [(a, "h", v) for a, v in zip(ids, clustered(50, 2), strict=True)])
        index = VectorIndex("m", ann_min=500)
        index.refresh(store)
        assert not index.wait_for_ann(timeout=5) and index._building is None
