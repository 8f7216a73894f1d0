"""Embed a day in two passes: a static model for all of it, the transformer where it matters.

The transformer costs ~0.05-0.1 s per paper on a laptop CPU, most of a day's
run. Most papers of a day are far from the profile, and a static model
distilled from the same transformer (static_embed.py) ranks them well enough
to say so in milliseconds -- if it ranks like the transformer, which on the
benchmark days it does not well enough to keep every judge pick (bench/embed.py;
hence ``[embedding] backend = "cascade"`` is opt-in). The prefilter runs first on static vectors; the
transformer embeds only the best ``fraction`` of the day (plus anything it has
embedded before), and the rest get the transformer-space vector that a linear
map, fitted on this day's papers embedded both ways, predicts from their
static vector. The prefilter then scores the whole day in one space, as
before: the day's statistics and the expansion classifier still see every
paper, and the papers that can make the shortlist have their exact vectors.

Predicted vectors are stored too (semantic search and related papers then
cover the whole day) under a content hash marked ``~``, which never matches a
real text's hash, so anything that needs an exact vector computes it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np

from ..core.config import PrefilterConfig, ProfileConfig
from ..core.embedding import Embedder, content_hash, embed_papers, paper_text
from ..core.errors import EmbeddingError
from ..core.models import Paper
from ..core.static_embed import StaticEmbedder
from ..core.store import Store

log = logging.getLogger(__name__)

# Below this many papers the whole day goes to the transformer: a few seconds
# at most, and too few pairs to fit the map from static to transformer space.
MIN_CASCADE_PAPERS = 100
APPROX_MARK = "~"
# Ridge strength of the static -> transformer map, relative to the number of
# fitted papers; the fit is on the day's best papers, so keep it smooth.
RIDGE = 1.0


def fit_map(static: np.ndarray, exact: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Least-squares map (with a bias row) from static vectors to transformer vectors."""
    x = np.hstack([static, np.ones((len(static), 1), np.float32)]).astype(np.float64)
    reg = ridge * np.eye(x.shape[1])
    reg[-1, -1] = 0.0
    return np.linalg.solve(x.T @ x + reg, x.T @ exact.astype(np.float64))


def apply_map(weights: np.ndarray, static: np.ndarray) -> np.ndarray:
    y = np.hstack([static, np.ones((len(static), 1), np.float32)]) @ weights
    return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def first_pass(
    store: Store,
    papers: Sequence[Paper],
    static: StaticEmbedder,
    profile: ProfileConfig,
    settings: PrefilterConfig,
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The day's arXiv ids ranked by the prefilter on static vectors, and those vectors."""
    from .profile import prepare_profile
    from .scoring import score_papers

    vectors, _ = embed_papers(store, papers, static)
    prepared = prepare_profile(profile, static, store)
    ranked = score_papers(papers, vectors, prepared, settings)
    return [c.paper.arxiv_id for c in ranked], vectors


def embed_day(
    store: Store,
    papers: Sequence[Paper],
    embedder: Embedder,
    static: StaticEmbedder | None,
    profile: ProfileConfig,
    settings: PrefilterConfig,
    fraction: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors in the transformer's space for every paper; returns (vectors, computed by the transformer)."""
    n = len(papers)
    if static is None or n < MIN_CASCADE_PAPERS or fraction >= 1:
        return embed_papers(store, papers, embedder, progress)
    hashes = {p.arxiv_id: content_hash(paper_text(p)) for p in papers}
    stored = store.get_embeddings(list(hashes), embedder.key)
    # A rerun of the day: every paper has its exact or its predicted vector already.
    if all(k in stored and stored[k][0] in (h, APPROX_MARK + h) for k, h in hashes.items()):
        if progress:
            progress(n)
        return {k: v for k, (_, v) in stored.items() if k in hashes}, 0
    try:
        order, static_vectors = first_pass(store, papers, static, profile, settings)
    except EmbeddingError as exc:
        log.warning("Static first pass unavailable, embedding every paper with the transformer: %s", exc)
        return embed_papers(store, papers, embedder, progress)
    by_id = {p.arxiv_id: p for p in papers}
    cached = {k: v for k, (h, v) in stored.items() if h == hashes.get(k)}
    wanted = order[: math.ceil(fraction * n)]
    todo = [by_id[i] for i in wanted if i not in cached]
    if progress and cached:
        progress(len(cached))
    fresh, computed = embed_papers(store, todo, embedder, progress)
    exact = {**cached, **fresh}
    rest = [i for i in order if i not in exact]
    if rest:
        fitted = list(exact)
        weights = fit_map(np.vstack([static_vectors[i] for i in fitted]), np.vstack([exact[i] for i in fitted]))
        predicted = apply_map(weights, np.vstack([static_vectors[i] for i in rest]))
        store.put_embeddings(
            embedder.key, ((i, APPROX_MARK + hashes[i], v) for i, v in zip(rest, predicted, strict=True))
        )
        exact.update(zip(rest, predicted, strict=True))
        if progress:
            progress(len(rest))
    return exact, computed
