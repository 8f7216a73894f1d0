"""Score the day's papers against the profile and keep a shortlist.

Scores are in standard deviations of the day: a paper's cosine similarity to
each probe (topic or seed paper) is compared with the other papers announced
that day. Raw cosines drift with the model and with how a topic is worded;
"how unusual is this paper for today" does not, so one threshold keeps its
meaning across days and profiles.

Every kept paper carries the reasons for its score: which topic or seed paper
it resembles, which followed author or keyword it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.config import PrefilterConfig
from ..core.models import Candidate, Paper, Reason
from .profile import PreparedProfile, fold, keyword_pattern
from .verdicts import VerdictRanker

# Below this many papers a day's spread says little; use typical MiniLM
# statistics for an unrelated text pair instead.
MIN_PAPERS_FOR_DAY_STATS = 20
# Fewer papers than this leave too few examples on each side for the classifier.
MIN_PAPERS_FOR_CLASSIFIER = 50
FALLBACK_MEAN, FALLBACK_STD = 0.15, 0.1
# A probe is named as a reason when the paper is this unusual for it.
REASON_Z = 1.5
# The verdict ranker is named as a reason above this (its own SDs of the day).
LEARNED_REASON_Z = 1.0


@dataclass
class Learned:
    ranker: VerdictRanker
    weight: float


def ranker_text(paper: Paper) -> str:
    # The title twice: it is the judge's first impression and the abstract's summary.
    return f"{paper.title}. {paper.title}. {paper.abstract}"


def learned_weight(ranker: VerdictRanker, settings: PrefilterConfig) -> float:
    """The ranker's say grows with the picks it has seen; a handful says little."""
    return settings.learned_weight * min(1.0, ranker.summary.picks / settings.full_weight_picks)


def standardize(sims: np.ndarray) -> np.ndarray:
    if sims.shape[0] >= MIN_PAPERS_FOR_DAY_STATS:
        mean, std = sims.mean(axis=0), sims.std(axis=0)
        std = np.where(std < 1e-6, 1.0, std)
    else:
        mean, std = FALLBACK_MEAN, FALLBACK_STD
    return (sims - mean) / std


def _centroid_similarity(matrix: np.ndarray, ranking: np.ndarray, k: int) -> np.ndarray:
    centroid = matrix[np.argsort(-ranking)[:k]].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    return standardize((matrix @ centroid)[:, None])[:, 0]


def category_features(papers: Sequence[Paper]) -> np.ndarray:
    """One column per arXiv category of the day (primary and cross-lists), 1 where a paper has it."""
    names = sorted({c for p in papers for c in p.categories or []})
    index = {c: j for j, c in enumerate(names)}
    out = np.zeros((len(papers), len(names)), dtype=np.float32)
    for i, p in enumerate(papers):
        for c in p.categories or []:
            out[i, index[c]] = 1.0
    return out


def _expansion(
    matrix: np.ndarray, base: np.ndarray, settings: PrefilterConfig, categories: np.ndarray | None = None
) -> np.ndarray:
    """How much a paper looks like the day's best matches (pseudo-relevance feedback).

    A profile names a few topics in a few words; the papers that match them
    best describe the interest in the day's own vocabulary, which catches
    papers worded differently from the profile. The centroid of those papers
    is a blunt summary of them; a linear classifier that separates them from
    the bottom half of the day learns which directions of the embedding
    matter, and on the benchmark day (bench/judge_tokens.py) it keeps the
    same recall of an LLM judge's picks with a third fewer papers.

    The classifier also sees the papers' arXiv categories: when the day's
    best matches cluster in a few of them (say cs.LG and stat.ML for a
    theory-minded profile), a paper there gets a small lift over one from a
    category the profile never hits. The pseudo-labels, not a fixed list,
    decide which categories count, so a profile about NLP lifts cs.CL.
    """
    n = len(base)
    if n < MIN_PAPERS_FOR_DAY_STATS:
        return np.zeros_like(base)
    k = max(3, int(round(settings.expansion_fraction * n)))
    centroid = _centroid_similarity(matrix, base, k)
    if settings.expansion == "centroid" or n < MIN_PAPERS_FOR_CLASSIFIER:
        return centroid
    from sklearn.linear_model import LogisticRegression

    order = np.argsort(-(base + 0.5 * centroid))
    positives, negatives = order[:k], order[n // 2 :]
    features = matrix
    if categories is not None and categories.shape[1] and settings.category_weight:
        features = np.hstack([matrix, settings.category_weight * categories])
    x = np.vstack([features[positives], features[negatives]])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    # Strong regularization: the labels are guesses, and the classifier should
    # generalize their direction rather than memorize which papers they are.
    clf = LogisticRegression(C=0.1, max_iter=1000).fit(x, y)
    return standardize(clf.decision_function(features)[:, None])[:, 0]


def score_papers(
    papers: Sequence[Paper],
    vectors: dict[str, np.ndarray],
    profile: PreparedProfile,
    settings: PrefilterConfig,
    extra: dict[str, tuple[float, Reason | None]] | None = None,
    learned: Learned | None = None,
) -> list[Candidate]:
    """All papers as candidates, best first; excluded papers last.

    ``learned`` is the ranker trained on the judge's earlier verdicts, with its
    weight: it is added to the profile's own signals in the same unit.
    """
    if not papers:
        return []
    matrix = np.vstack([vectors[p.arxiv_id] for p in papers])
    scores = np.zeros(len(papers))
    reasons: list[list[Reason]] = [[] for _ in papers]
    if profile.probes:
        sims = matrix @ profile.matrix.T
        z = standardize(sims)
        best = z.argmax(axis=1)
        scores += z.max(axis=1)
        for i in range(len(papers)):
            for j in np.argsort(-z[i]):
                if j != best[i] and z[i, j] < REASON_Z:
                    break
                probe = profile.probes[j]
                reasons[i].append(Reason(kind=probe.kind, label=probe.label, score=round(float(sims[i, j]), 4)))
        if settings.expansion_weight and settings.expansion != "off":
            scores += settings.expansion_weight * _expansion(matrix, scores.copy(), settings, category_features(papers))

    if learned is not None and learned.weight > 0:
        texts = [ranker_text(p) for p in papers]
        z = learned.ranker.decision(matrix, [p.categories or [] for p in papers], texts)
        scores += learned.weight * z
        label = learned.ranker.summary.describe()
        for i in np.flatnonzero(z >= LEARNED_REASON_Z):
            reasons[i].append(Reason(kind="learned", label=f"like the judge's picks ({label})", score=round(z[i], 4)))

    cfg = profile.config
    authors = {fold(a): a for a in cfg.authors}
    keywords = [(k, keyword_pattern(k)) for k in cfg.keywords]
    negatives = [(k, keyword_pattern(k)) for k in cfg.negative_keywords]
    out = []
    for i, p in enumerate(papers):
        text = fold(f"{p.title} {p.abstract}")
        for a in p.authors:
            if fold(a) in authors:
                scores[i] += settings.author_weight
                reasons[i].append(Reason(kind="author", label=authors[fold(a)], score=settings.author_weight))
        hits = [k for k, pat in keywords if pat.search(text)]
        for k in hits[: settings.max_keywords]:
            scores[i] += settings.keyword_weight
            reasons[i].append(Reason(kind="keyword", label=k, score=settings.keyword_weight))
        if extra and p.arxiv_id in extra:
            value, reason = extra[p.arxiv_id]
            scores[i] += value
            # A booster may adjust every paper but explain only those it favours.
            if reason is not None:
                reasons[i].append(reason)
        bad = [k for k, pat in negatives if pat.search(text)]
        for k in bad:
            reasons[i].append(Reason(kind="negative-keyword", label=k, score=0.0))
        out.append(Candidate(paper=p, score=round(float(scores[i]), 4), reasons=reasons[i], excluded=bool(bad)))
    # Strongest reason first so digests can show the main one.
    for c in out:
        c.reasons.sort(key=lambda r: (r.kind == "negative-keyword", r.kind not in ("author", "keyword"), -r.score))
    out.sort(key=lambda c: (c.excluded, -c.score, c.paper.arxiv_id))
    return out


def shortlist_size(ranked: Sequence[Candidate], settings: PrefilterConfig, fraction: float | None = None) -> int:
    """How many of ``ranked`` (as sorted by score_papers) make the shortlist.

    An explicit ``shortlist_size`` wins. Otherwise ``fraction`` (the cut that
    held ``target_recall`` of the judge's picks on earlier days, see
    explore.cut_fraction) of the eligible papers, within min/max_shortlist.
    """
    eligible = [c for c in ranked if not c.excluded]
    if settings.shortlist_size is not None:
        n = settings.shortlist_size
    else:
        n = int(np.ceil((fraction if fraction is not None else 1.0) * len(eligible) - 1e-9))
        n = max(settings.min_shortlist, min(settings.max_shortlist, n))
    n = min(n, len(eligible))
    if settings.min_score is not None:
        n = max(n, sum(1 for c in eligible if c.score >= settings.min_score))
    return n
