"""A profile that learns from feedback: logistic regression on the embeddings.

Like arxiv-sanity's per-user SVM, a linear classifier is trained on the
paper embeddings the prefilter already has. Positives: 👍 and saved papers
and the imported library; negatives: 👎 papers plus a deterministic sample of
papers the user never rated (most papers of a day are not wanted). Its
log-odds, standardized over the day like the prefilter's own scores, are
added with ``[learning] weight`` and a ``learned`` reason on the papers it
clearly favours.

With fewer than ``[learning] min_labels`` labels, or no positive, or nothing
to contrast them with, it returns None and the prefilter runs as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.config import Config, LearningConfig
from ..core.hookspecs import hookimpl
from ..core.models import Paper, Reason
from ..core.store import Store

# A paper gets a "learned" reason when the classifier puts it this many
# standard deviations above the day's average paper.
REASON_Z = 1.0
# Below this many day papers, standardizing over the day says little.
MIN_DAY = 10


@dataclass
class TrainingSet:
    X: np.ndarray
    y: np.ndarray
    liked: int  # explicit 👍/saves with a vector
    disliked: int  # explicit 👎 with a vector
    library: int  # library items used as positives
    unlabeled: int  # sampled unrated papers used as negatives

    @property
    def labels(self) -> int:
        return self.liked + self.disliked + self.library

    def describe(self) -> str:
        parts = [f"{self.liked} liked"] if self.liked else []
        if self.library:
            parts.append(f"{self.library} in your library")
        if self.disliked:
            parts.append(f"{self.disliked} disliked")
        return ", ".join(parts)


def feedback_labels(store: Store) -> dict[str, int]:
    """👍/save = +1, 👎 = -1; empty while the feedback module or table is absent."""
    try:
        from ..core.feedback import feedback_labels as read
    except ImportError:
        return {}
    try:
        return dict(read(store))
    except Exception as exc:  # a missing table on an old store must not stop the run
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError):
            return {}
        raise


def _seed(ids: Sequence[str]) -> int:
    # The same store and labels give the same sample: a rerun ranks identically.
    return int(hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:8], 16)


def _unlabeled_sample(store: Store, model: str, exclude: set[str], k: int, seed: int) -> list[str]:
    if k <= 0:
        return []
    pool = [i for i in store.embedded_ids(model) if i not in exclude]
    if len(pool) <= k:
        return pool
    rng = np.random.default_rng(seed)
    return [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]


def build_training_set(
    store: Store,
    config: Config,
    labels: dict[str, int],
    day_vectors: dict[str, np.ndarray],
) -> TrainingSet | None:
    settings = config.learning
    model = config.embedding.key
    from ..core.library import library_vectors

    wanted = list(labels)
    stored = {k: v for k, (_, v) in store.get_embeddings(wanted, model).items()}
    vec = {i: day_vectors.get(i, stored.get(i)) for i in wanted}
    pos = [vec[i] for i, y in labels.items() if y > 0 and vec[i] is not None]
    neg = [vec[i] for i, y in labels.items() if y < 0 and vec[i] is not None]
    lib = library_vectors(store, model)
    lib_ids = {k.removeprefix("arxiv:") for k in lib}
    # A liked paper that is also in the library counts once.
    lib_pos = [v for k, (_, v) in lib.items() if k.removeprefix("arxiv:") not in labels]
    ts_labels = len(pos) + len(neg) + len(lib_pos)
    if ts_labels < settings.min_labels or not (pos or lib_pos):
        return None
    # Unrated papers from other days first: the day being scored stays out of
    # its own negatives unless there is nothing else (a first run).
    exclude = set(labels) | lib_ids
    seed = _seed([f"{k}{v}" for k, v in labels.items()] + list(lib))
    sample = _unlabeled_sample(store, model, exclude | set(day_vectors), settings.unlabeled_negatives, seed)
    if len(sample) < min(settings.unlabeled_negatives, 20):
        sample = _unlabeled_sample(store, model, exclude, settings.unlabeled_negatives, seed)
    sampled = store.get_embeddings(sample, model)
    unl = [sampled[i][1] if i in sampled else day_vectors[i] for i in sample if i in sampled or i in day_vectors]
    if not neg and not unl:
        return None
    X = np.vstack(pos + lib_pos + neg + unl).astype(np.float32)
    y = np.array([1] * (len(pos) + len(lib_pos)) + [0] * (len(neg) + len(unl)))
    return TrainingSet(X=X, y=y, liked=len(pos), disliked=len(neg), library=len(lib_pos), unlabeled=len(unl))


def train(ts: TrainingSet, settings: LearningConfig):
    from sklearn.linear_model import LogisticRegression

    # Balanced: a few likes against hundreds of sampled papers still matter.
    clf = LogisticRegression(C=settings.regularization, class_weight="balanced", max_iter=1000)
    clf.fit(ts.X, ts.y)
    return clf


def learned_scores(
    store: Store,
    config: Config,
    papers: Sequence[Paper],
    vectors: dict[str, np.ndarray],
    *,
    labels: dict[str, int] | None = None,
) -> dict[str, float] | None:
    """P(liked) for each paper, or None while there is too little to learn from."""
    result = learn_and_score(store, config, papers, vectors, labels=labels)
    return None if result is None else result[0]


def learn_and_score(
    store: Store,
    config: Config,
    papers: Sequence[Paper],
    vectors: dict[str, np.ndarray],
    *,
    labels: dict[str, int] | None = None,
) -> tuple[dict[str, float], TrainingSet] | None:
    if not config.learning.enabled or not papers:
        return None
    labels = feedback_labels(store) if labels is None else labels
    day = {p.arxiv_id: vectors[p.arxiv_id] for p in papers if p.arxiv_id in vectors}
    ts = build_training_set(store, config, labels, day)
    if ts is None or not day:
        return None
    clf = train(ts, config.learning)
    ids = list(day)
    probs = clf.predict_proba(np.vstack([day[i] for i in ids]))[:, 1]
    return dict(zip(ids, (float(p) for p in probs), strict=True)), ts


def standardized_logits(scores: dict[str, float]) -> dict[str, float]:
    """Log-odds in standard deviations of the day: the prefilter's unit."""
    ids = list(scores)
    p = np.clip(np.array([scores[i] for i in ids]), 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p))
    # Too few papers to standardize: read log-odds on a fixed scale.
    enough = len(ids) >= MIN_DAY and logit.std() > 1e-9
    z = (logit - logit.mean()) / logit.std() if enough else logit / 2.0
    return dict(zip(ids, (float(x) for x in z), strict=True))


def blend(scores: dict[str, float], ts: TrainingSet, weight: float) -> dict[str, tuple[float, Reason | None]]:
    """What the prefilter adds per paper: (weight × standardized log-odds, reason or None)."""
    z = standardized_logits(scores)
    label = ts.describe()
    return {
        i: (
            round(weight * z[i], 4),
            Reason(kind="learned", label=label, score=round(scores[i], 4)) if z[i] >= REASON_Z else None,
        )
        for i in scores
    }


def effective_weight(ts: TrainingSet, settings: LearningConfig, weight: float | None = None) -> float:
    """The weight grows with the liked papers: two likes say little (see bench/learning.py)."""
    weight = settings.weight if weight is None else weight
    return weight * min(1.0, (ts.liked + ts.library) / settings.full_weight_positives)


def boost(ctx) -> dict[str, tuple[float, Reason | None]]:
    """The prefilter's score booster: the feedback classifier's scores, blended."""
    result = learn_and_score(ctx.store, ctx.config, ctx.papers, ctx.vectors)
    if result is None:
        return {}
    scores, ts = result
    return blend(scores, ts, effective_weight(ts, ctx.config.learning))


def explain(store: Store, config: Config, day=None, top: int = 10) -> list[str]:
    """Lines for ``paperradar learn``: the labels it has and, for a day, its favourites."""
    labels = feedback_labels(store)
    from ..core.library import library_count

    liked = sum(1 for v in labels.values() if v > 0)
    lines = [
        f"Feedback: {liked} liked/saved, {len(labels) - liked} disliked; library: {library_count(store)} items.",
        f"The classifier joins the prefilter from {config.learning.min_labels} labels "
        f"(weight {config.learning.weight}; enabled: {config.learning.enabled}).",
    ]
    if day is None:
        return lines
    papers = store.papers_for_day(day, include_replacements=config.include_replacements)
    vectors = {k: v for k, (_, v) in store.get_embeddings([p.arxiv_id for p in papers], config.embedding.key).items()}
    result = learn_and_score(store, config, [p for p in papers if p.arxiv_id in vectors], vectors, labels=labels)
    if result is None:
        lines.append(f"{day}: not enough labels (or no embedded papers) yet; the prefilter runs without it.")
        return lines
    scores, ts = result
    lines.append(f"{day}: trained on {ts.describe()} and {ts.unlabeled} unrated papers. Most liked:")
    titles = {p.arxiv_id: p.title for p in papers}
    for i in sorted(scores, key=lambda k: -scores[k])[:top]:
        lines.append(f"  {scores[i]:.2f}  {i}  {' '.join(titles[i].split())}")
    return lines


@hookimpl
def register_score_boosters(config):
    return [boost]
