"""EmbeddingRepository on a real SQLite file."""

from __future__ import annotations

import numpy as np
import pytest

from paperradar.core.store import Store


@pytest.mark.postgres
def test_vectors_come_back_per_model_with_their_hash_and_a_rewrite_replaces_them(tmp_path, store_location):
    with Store(store_location) as store:
        vectors = store.embeddings
        assert vectors.put("m1", [("b", "hb", np.array([1.0, 2.0])), ("a", "ha", np.array([0.5, -1.0]))]) == 2
        vectors.put("m2", [("c", "hc", np.array([3.0]))])
        vectors.put("m1", [("b", "hb2", np.array([4.0, 5.0]))])

        assert vectors.ids("m1") == ["a", "b"] and vectors.ids("m2") == ["c"] and vectors.ids("m3") == []
        got = vectors.get(["a", "b", "c"], "m1")
        assert sorted(got) == ["a", "b"]
        assert got["b"][0] == "hb2" and got["b"][1].dtype == np.float32
        np.testing.assert_array_equal(got["b"][1], [4.0, 5.0])
        np.testing.assert_array_equal(got["a"][1], [0.5, -1.0])


@pytest.mark.postgres
def test_many_ids_are_read_in_chunks(tmp_path, store_location):
    with Store(store_location) as store:
        ids = [f"p{i:04d}" for i in range(1100)]
        store.embeddings.put("m", ((i, "h", np.array([float(n)])) for n, i in enumerate(ids)))

        got = store.embeddings.get(ids, "m")
        assert len(got) == 1100 and got["p1099"][1][0] == 1099.0
