"""What the judge reads today: the ranking, the cut, and the random sample below it.

One function, :func:`plan_day`, turns the day's papers, the profile, the
ranker trained on earlier verdicts and the record of earlier cuts into the
shortlist and the explored papers. The pipeline's prefilter stage and
``bench/prefilter_days.py`` both call it, so the benchmark measures exactly
what a user gets. :func:`day_outcome` turns a judged day back into the
record the next day's cut and recall estimate are made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .config import PrefilterConfig
from .explore import DayOutcome, cut_fraction, explore_sample
from .models import Candidate, Paper, Reason
from .prefilter import Learned, learned_weight, score_papers, shortlist_size
from .profile import PreparedProfile
from .verdicts import VerdictRanker


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
            "cut_evidence_picks": round(self.evidence, 1),
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
        fraction, evidence = cut_fraction(history[-settings.history_days :], settings.target_recall)
    n = shortlist_size(ranked, settings, fraction)
    eligible = [c.paper.arxiv_id for c in ranked if not c.excluded]
    explored = explore_sample(eligible[n:], day, salt, settings.explore_fraction, settings.explore_max)
    return DayPlan(ranked, n, explored, fraction, evidence, learned.weight if learned else 0.0)


def day_outcome(day: str, eligible: Sequence[str], shortlist: int, explored: Sequence[str], picks: set[str]) -> DayOutcome:
    """A judged day as the cut and the recall estimate need it.

    ``eligible`` is the day's ranking (excluded papers left out), ``picks``
    the papers the judge selected among those it read.
    """
    n = len(eligible)
    rank = {pid: i + 1 for i, pid in enumerate(eligible)}
    short = set(eligible[:shortlist])
    exp = [pid for pid in explored if pid in rank and pid not in short]
    pos_short = [rank[p] / n for p in eligible[:shortlist] if p in picks]
    pos_exp = [rank[p] / n for p in exp if p in picks]
    return DayOutcome(
        day=day,
        papers=n,
        shortlisted=len(short),
        tail=n - len(short),
        explored=len(exp),
        picks_shortlist=len(pos_short),
        picks_explored=len(pos_exp),
        pick_positions=pos_short + pos_exp,
        explored_positions=pos_exp,
    )
