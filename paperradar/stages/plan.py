"""What the judge reads today: the ranking, the cut, and the random sample below it.

One function, :func:`plan_day`, turns the day's papers, the profile, the
ranker trained on earlier verdicts and the record of earlier cuts into the
shortlist and the explored papers. The pipeline's prefilter stage and
``bench/prefilter_days.py`` both call it, so the benchmark measures exactly
what a user gets. :func:`day_outcome` turns a judged day back into the
record the next day's cut and recall estimate are made from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.config import PrefilterConfig
from ..core.models import Candidate, Paper, Reason
from ..core.store import JudgedDay, Store
from .explore import DayOutcome, cut_fraction, explore_sample
from .profile import PreparedProfile
from .scoring import Learned, learned_weight, ranker_text, score_papers, shortlist_size
from .verdicts import Label, LabelSummary, TrainingPaper, VerdictRanker, train_ranker


@dataclass
class DayPlan:
    ranked: list[Candidate]  # best first, excluded papers last
    shortlist: int  # the first ``shortlist`` eligible papers
    explored: list[str] = field(default_factory=list)
    fraction: float | None = None  # the cut, as a fraction of the eligible day (None: fixed size)
    evidence: float = 0.0  # judge picks (weighted) the cut rests on, besides the prior
    ranker_weight: float = 0.0

    @property
    def shortlisted_ids(self) -> list[str]:
        return [c.paper.arxiv_id for c in self.ranked if not c.excluded][: self.shortlist]

    @property
    def sent(self) -> list[str]:
        """Everything the judge reads today, shortlist first."""
        return self.shortlisted_ids + self.explored

    def detail(self) -> dict:
        return {
            "scored": len(self.ranked),
            "shortlisted": self.shortlist,
            "explored": len(self.explored),
            "excluded": sum(c.excluded for c in self.ranked),
            "cut_fraction": None if self.fraction is None else round(self.fraction, 4),
            "cut_evidence": round(self.evidence, 1),
            "ranker_weight": round(self.ranker_weight, 3),
        }


def plan_day(
    papers: Sequence[Paper],
    vectors: dict[str, np.ndarray],
    profile: PreparedProfile,
    settings: PrefilterConfig,
    *,
    day: str,
    salt: str,
    history: Sequence[DayOutcome] = (),
    ranker: VerdictRanker | None = None,
    extra: dict[str, tuple[float, Reason | None]] | None = None,
) -> DayPlan:
    """Rank the day, cut it where ``target_recall`` of earlier picks fell, and sample below the cut.

    ``salt`` (the profile version) makes the exploration sample differ per
    profile but stay the same on a rerun of the day.
    """
    learned = Learned(ranker, learned_weight(ranker, settings)) if ranker is not None else None
    ranked = score_papers(papers, vectors, profile, settings, extra=extra, learned=learned)
    fraction, evidence = (None, 0.0)
    if settings.shortlist_size is None:
        eligible_n = sum(not p.excluded for p in ranked)
        fraction, evidence = cut_fraction(history[-settings.history_days :], settings.target_recall, eligible_n)
    n = shortlist_size(ranked, settings, fraction)
    eligible = [c.paper.arxiv_id for c in ranked if not c.excluded]
    explored = explore_sample(eligible[n:], day, salt, settings.explore_fraction, settings.explore_max)
    return DayPlan(ranked, n, explored, fraction, evidence, learned.weight if learned else 0.0)


def day_outcome(
    day: str, eligible: Sequence[str], shortlist: int, explored: Sequence[str], picks: set[str]
) -> DayOutcome:
    """A judged day as the cut and the recall estimate need it.

    ``eligible`` is the day's ranking (excluded papers left out), ``picks``
    the papers the judge selected among those it read.
    """
    n = len(eligible)
    rank = {pid: i + 1 for i, pid in enumerate(eligible)}
    short = eligible[:shortlist]
    in_short = set(short)
    exp = [pid for pid in explored if pid in rank and pid not in in_short]
    tail = n - len(short)
    # Every judged paper counts once in the pick curve, explored ones too: the sample was drawn by
    # position alone, and position is what the curve conditions on, so the sampling cannot bias
    # P(pick | position). Weighting an explored paper by the tail it stands for (what the recall
    # estimate does) would let one lucky find deep in the tail count as forty picks.
    observations = [(rank[p] / n, p in picks, 1.0) for p in short + exp]
    return DayOutcome(
        day=day,
        papers=n,
        shortlisted=len(short),
        tail=tail,
        explored=len(exp),
        picks_shortlist=sum(p in picks for p in short),
        picks_explored=sum(p in picks for p in exp),
        observations=observations,
    )


# Verdicts older than this many judged days no longer train the ranker: tastes drift,
# and a year of labels would only slow the daily run.
LABEL_DAYS = 60


def labels_from(judged: Sequence[JudgedDay]) -> list[Label]:
    """Every usable verdict as a label: picked or not, and whether it came from the random sample."""
    out = []
    for jd in judged:
        explored = set(jd.explored)
        for pid in jd.read:
            out.append(
                Label(
                    pid, jd.day, pid in jd.picked, "explored" if pid in explored else "judge", jd.profile_version or ""
                )
            )
    return out


def outcomes_from(judged: Sequence[JudgedDay]) -> list[DayOutcome]:
    return [day_outcome(jd.day, jd.ranking, jd.shortlisted, jd.explored, jd.picked) for jd in judged]


@dataclass
class History:
    """What earlier judged days teach today's plan, read from the store once."""

    judged: list[JudgedDay]
    ranker: VerdictRanker | None
    outcomes: list[DayOutcome]

    @property
    def summary(self) -> LabelSummary | None:
        return self.ranker.summary if self.ranker else None


def read_history(
    store: Store,
    day: dt.date,
    model: str,
    version: str,
    settings: PrefilterConfig,
    today: Sequence[Paper] = (),
    feedback: dict[str, int] | None = None,
) -> History:
    """Train the verdict ranker and gather earlier cuts, from days strictly before ``day``.

    ``feedback`` (arXiv id → +1 for 👍/save, −1 for 👎) adds the user's own
    verdicts as labels of the current profile version.
    """
    judged = store.judged_days(day, LABEL_DAYS)
    labels = labels_from(judged)
    if feedback:
        yesterday = (day - dt.timedelta(days=1)).isoformat()
        labels += [Label(pid, yesterday, y > 0, "feedback", version) for pid, y in feedback.items()]
    recent = judged[-settings.history_days :]
    read = {lab.arxiv_id for lab in labels}
    unlabeled = [pid for jd in recent for pid in jd.ranking if pid not in read]
    ids = list(read) + unlabeled
    papers = store.papers_by_ids(ids)
    vectors = {k: v for k, (_, v) in store.get_embeddings(list(papers), model).items()}
    train = {
        pid: TrainingPaper(vectors[pid], p.categories or [], ranker_text(p))
        for pid, p in papers.items()
        if pid in vectors
    }
    ranker = train_ranker(
        labels,
        train,
        today=day.isoformat(),
        profile_version=version,
        unlabeled=unlabeled,
        today_texts=[ranker_text(p) for p in today],
        stale_weight=settings.stale_label_weight,
    )
    return History(judged, ranker, outcomes_from(judged))
