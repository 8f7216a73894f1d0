"""Learning a profile's taste from the judge's verdicts (and the user's 👍/👎).

Every paper the judge has read is a label for the profile: selected or not.
A linear classifier on the paper's embedding and arXiv categories, trained
on all labels from *earlier* days, ranks today's papers by how likely the
judge is to pick them. While labels are few its say is small and the
profile-similarity and pseudo-relevance signals carry the ranking; its weight
grows with the number of picks it has seen.

Labels carry the version of the profile they were made under. When the
topics change, labels from an older version count with a reduced weight
(``[prefilter] stale_label_weight``; 0 drops them), so yesterday's taste
does not outvote today's description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Labels from the day being ranked never train its ranker: a day may learn
# only from verdicts that existed before it was ranked.


@dataclass(frozen=True)
class Label:
    arxiv_id: str
    day: str  # the announcement day the verdict was made for
    picked: bool
    source: str  # "judge", "explored" (judged from the random sample), "feedback"
    profile_version: str
    weight: float = 1.0  # inverse sampling probability for explored papers


@dataclass
class LabelSummary:
    """What the ranker learned from, for the user (digest, `paperradar runs`)."""

    used: int = 0
    picks: int = 0
    days: int = 0
    stale: int = 0  # labels of an older profile version (down-weighted or dropped)
    dropped: int = 0

    def describe(self) -> str:
        if not self.used:
            return "no verdicts yet"
        s = f"{self.used} verdicts ({self.picks} picks) over {self.days} days"
        if self.stale:
            s += f"; {self.stale} from an older profile {'dropped' if self.dropped else 'down-weighted'}"
        return s


def category_matrix(categories: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(categories), len(vocabulary)), dtype=np.float32)
    for i, cats in enumerate(categories):
        for c in cats:
            j = vocabulary.get(c)
            if j is not None:
                out[i, j] = 1.0
    return out


@dataclass
class VerdictRanker:
    """Two linear views of a paper, each trained on the same verdicts: its embedding with its
    arXiv categories, and its words (TF-IDF of title and abstract). The words catch what a
    small embedding model blurs ("MoE", "quantization", "KV cache"); their standardized
    decisions are averaged."""

    dense: object
    words: object
    vectorizer: object
    vocabulary: dict[str, int]
    category_weight: float
    summary: LabelSummary

    def _dense_features(self, matrix: np.ndarray, categories: Sequence[Sequence[str]]) -> np.ndarray:
        cats = category_matrix(categories, self.vocabulary) * self.category_weight
        return np.hstack([matrix, cats]) if cats.shape[1] else matrix

    def decision(self, matrix: np.ndarray, categories: Sequence[Sequence[str]], texts: Sequence[str]) -> np.ndarray:
        """Today's papers in the ranker's unit: the mean of both views' standardized log-odds."""
        dense = _z(self.dense.decision_function(self._dense_features(matrix, categories)))
        words = _z(self.words.decision_function(self.vectorizer.transform(texts)))
        return _z(dense + words)


def _z(x: np.ndarray) -> np.ndarray:
    std = x.std()
    return (x - x.mean()) / (std if std > 1e-9 else 1.0)


@dataclass
class TrainingPaper:
    vector: np.ndarray
    categories: Sequence[str]
    text: str


def train_ranker(
    labels: Sequence[Label],
    papers: dict[str, TrainingPaper],
    *,
    today: str,
    profile_version: str,
    unlabeled: Sequence[str] = (),
    today_texts: Sequence[str] = (),
    stale_weight: float = 0.3,
    unlabeled_weight: float = 0.3,
    category_weight: float = 0.5,
    min_picks: int = 3,
) -> VerdictRanker | None:
    """Picked vs. not picked from labels of days before ``today``; None while there are too few.

    ``unlabeled`` are earlier papers nobody judged: the prefilter ranked them
    low and most of them would not have been picked, so they count as weak
    negatives (``unlabeled_weight``), which tells the ranker what an ordinary
    day looks like beyond the few hundred papers the judge read.
    """
    summary = LabelSummary()
    ids, ys, ws = [], [], []
    days = set()
    for lab in labels:
        if lab.day >= today or lab.arxiv_id not in papers:
            continue
        w = lab.weight
        if lab.profile_version != profile_version:
            summary.stale += 1
            if stale_weight <= 0:
                summary.dropped += 1
                continue
            w *= stale_weight
        ids.append(lab.arxiv_id)
        ys.append(int(lab.picked))
        ws.append(w)
        days.add(lab.day)
    picks = sum(ys)
    summary.used, summary.picks, summary.days = len(ids), picks, len(days)
    if picks < min_picks or len(ids) - picks < min_picks:
        return None
    labelled = set(ids)
    extra = [i for i in unlabeled if i in papers and i not in labelled] if unlabeled_weight > 0 else []
    ids += extra
    y = np.array(ys + [0] * len(extra))
    w = np.array(ws + [unlabeled_weight] * len(extra))

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vocab = {c: j for j, c in enumerate(sorted({c for i in ids for c in papers[i].categories}))}
    texts = [papers[i].text for i in ids]
    # Today's texts shape the vocabulary (no labels are read from them).
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", ngram_range=(1, 2), min_df=2, max_features=50_000
    ).fit([*texts, *today_texts])
    ranker = VerdictRanker(
        dense=None,
        words=None,
        vectorizer=vectorizer,
        vocabulary=vocab,
        category_weight=category_weight,
        summary=summary,
    )
    dense_x = ranker._dense_features(np.vstack([papers[i].vector for i in ids]), [papers[i].categories for i in ids])
    # Balanced classes: picks are a tenth of what the judge reads.
    ranker.dense = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000).fit(dense_x, y, sample_weight=w)
    ranker.words = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000).fit(
        vectorizer.transform(texts), y, sample_weight=w
    )
    return ranker
