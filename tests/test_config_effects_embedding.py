"""Each documented [embedding] key, and [paperradar] database, output_dir and include_replacements, has an effect.

The real embed stage builds its embedder from the config; the model behind it is a
recording stand-in for sentence-transformers (and for the ONNX Runtime path), so no model
loads per key: the observation is what the embedder was asked to load and encode, the key
its vectors are stored under, and what the stage and the digest produced.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from paperradar.core import onnx_embed

from .config_lab import Lab
from .faultcli import HashEmbedder


class Recorder:
    """What the stand-in models were asked to do, in order."""

    def __init__(self):
        self.events: list = []

    def model(self):
        rec = self

        class FakeSentenceTransformer:
            def __init__(self, path, device=None):
                rec.events.append(("load", str(path).rsplit("/", 1)[-1], device))
                self._max = None

            @property
            def max_seq_length(self):
                return self._max

            @max_seq_length.setter
            def max_seq_length(self, n):
                rec.events.append(("max_seq_length", n))
                self._max = n

            def encode(self, texts, **kw):
                rec.events.append(("encode", len(texts)))
                return _vectors(texts)

            def get_sentence_embedding_dimension(self):
                return 16

        return FakeSentenceTransformer

    def onnx(self):
        rec = self

        class FakeOnnx:
            dim = 16

            def __init__(self, model_path, folder, max_tokens, threads=0):
                rec.events.append(("onnx", max_tokens, threads))

            def encode_batch(self, texts):
                rec.events.append(("onnx-encode", len(texts)))
                return _vectors(texts)

        return FakeOnnx


def _vectors(texts) -> np.ndarray:
    out = np.array([[b / 255 for b in hashlib.sha256(t.encode()).digest()[:16]] for t in texts], dtype=np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("embedding-lab"), server=None)
    lab.seed(judged=False)
    return lab


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A day of 120 papers: the cascade embeds days under 100 papers whole."""
    lab = Lab(tmp_path_factory.mktemp("embedding-big-lab"), server=None)
    lab.seed(judged=False, day_size=120)
    return lab


@pytest.fixture(scope="module")
def folder_model(tmp_path_factory):
    """A local model folder (its name is what the stand-in records)."""
    path = tmp_path_factory.mktemp("my-local-model")
    (path / "config.json").write_text("{}")
    return str(path)


def embedded(lab: Lab, change: dict) -> dict:
    rec = Recorder()
    static = HashEmbedder(model="static-stand-in")
    static.persist = False
    with pytest.MonkeyPatch.context() as mp:
        import sentence_transformers
        import torch

        mp.setattr(sentence_transformers, "SentenceTransformer", rec.model())
        mp.setattr(torch, "set_num_threads", lambda n: rec.events.append(("threads", n)))
        mp.setattr(onnx_embed, "OnnxTransformer", rec.onnx())
        outcome = lab.run(change, stages=["embed"], embedder=None, static=static)
    return {"events": rec.events, "detail": outcome.detail("embed")}


def files(lab: Lab, change: dict) -> dict:
    outcome = lab.run(change, stages=["embed", "prefilter", "digest"])
    written = sorted(str(p.relative_to(outcome.root)) for p in outcome.root.rglob("digest.*"))
    return {"written": written, "entries": len(outcome.ctx.digest.entries), "papers": outcome.detail("embed")}


# key -> (change, observe); the change may name the local model folder as MODEL.
PROBES = {
    "embedding.model": ({"embedding": {"model": "MODEL"}}, embedded),
    "embedding.batch_size": ({"embedding": {"batch_size": 7}}, embedded),
    "embedding.backend": ({"embedding": {"backend": "onnx"}}, embedded),
    "embedding.cascade_fraction": (
        {"embedding": {"cascade_fraction": 0.2}},
        lambda lab, change: embedded(lab, {"embedding": {"backend": "cascade"} | change.get("embedding", {})}),
    ),
    "embedding.max_tokens": ({"embedding": {"max_tokens": 128}}, embedded),
    "embedding.threads": ({"embedding": {"threads": 1}}, embedded),
    "paperradar.database": ({"paperradar": {"database": "other.db"}}, files),
    "paperradar.output_dir": ({"paperradar": {"output_dir": "elsewhere"}}, files),
    "paperradar.include_replacements": ({"paperradar": {"include_replacements": True}}, files),
}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_embedding_and_file_keys_change_what_is_computed_or_written(lab, big, folder_model, key):
    change, observe = PROBES[key]
    lab = big if key == "embedding.cascade_fraction" else lab
    if change.get("embedding", {}).get("model") == "MODEL":
        change = {"embedding": {"model": folder_model}}
    before, after = lab.differs(change, observe)
    assert before != after
