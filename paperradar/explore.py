"""Exploration below the cut, an honest estimate of the shortlist's recall, and the cut itself.

The judge only reads what the prefilter sends it, so its verdicts alone can
never reveal the relevant papers the prefilter ranked too low. Each day a
small random sample of the papers below the cut is judged as well. Because
the sample is random, the picks found in it estimate, without bias, how many
picks the whole tail held (each explored paper stands for 1/rate of them),
and so the recall of the shortlist: picks in the shortlist ÷ (those + the
estimated picks in the tail).

The same history sets the cut: where in the day's ranking (as a fraction of
the day) the judge's picks fell on earlier days, the tail's counted through
the exploration sample with their sampling weight. The shortlist is the
smallest fraction of today that held ``target_recall`` of them. With no
history yet, a prior stands in (``PRIOR_FRACTIONS``) and is outweighed as
real picks accumulate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Where the picks fell when no history exists: positions (fraction of the day,
# best first) of a typical day's picks under the cold ranking. Chosen on the
# shared P12/P15 days 2025-04-10 … 2025-12-17 (bench/prefilter_days.py
# --choose), reported on the later days.
PRIOR_FRACTIONS = (0.02, 0.05, 0.09, 0.14, 0.2, 0.26, 0.33, 0.4, 0.5, 0.62)
# How many real picks the prior counts as.
PRIOR_WEIGHT = 10.0


def explore_sample(ids: Sequence[str], day: str, salt: str, fraction: float, max_papers: int) -> list[str]:
    """A reproducible random sample of the papers below the cut: same day and profile, same sample."""
    if not ids or fraction <= 0 or max_papers <= 0:
        return []
    k = min(max_papers, len(ids), max(1, int(round(fraction * len(ids)))))
    seed = int(hashlib.sha256(f"{day}\n{salt}".encode()).hexdigest()[:12], 16)
    rng = np.random.default_rng(seed)
    return [ids[i] for i in sorted(rng.choice(len(ids), size=k, replace=False))]


@dataclass
class DayOutcome:
    """What one judged day says about the cut: counts and where the picks were."""

    day: str
    papers: int  # eligible papers of the day
    shortlisted: int
    tail: int  # eligible papers below the cut
    explored: int  # of the tail, judged at random
    picks_shortlist: int
    picks_explored: int
    pick_positions: Sequence[float] = ()  # fraction of the day at each pick's rank (shortlist and explored)
    explored_positions: Sequence[float] = ()  # of those, the explored ones


@dataclass
class RecallEstimate:
    point: float | None
    low: float | None
    high: float | None
    explored: int
    days: int
    picks_shortlist: int
    picks_explored: int

    def describe(self) -> str:
        if self.point is None:
            return "recall of the shortlist not yet estimated (no explored papers judged)"
        return (
            f"estimated recall of the shortlist {self.point:.2f} (90 % interval {self.low:.2f}–{self.high:.2f}, "
            f"from {self.explored} explored papers over {self.days} days)"
        )

    def as_dict(self) -> dict:
        return dict(vars(self))


def estimate_recall(outcomes: Sequence[DayOutcome], *, draws: int = 4000, seed: int = 0) -> RecallEstimate:
    """Pooled recall of the shortlists of ``outcomes`` with a 90 % interval.

    Point: Σ shortlist picks ÷ (Σ shortlist picks + Σ tail · explored picks / explored).
    Interval: each day's tail pick rate drawn from its Jeffreys posterior
    Beta(x + ½, n − x + ½), the recall recomputed per draw.
    """
    days = [o for o in outcomes if o.explored > 0]
    explored = sum(o.explored for o in days)
    s = sum(o.picks_shortlist for o in days)
    x = sum(o.picks_explored for o in days)
    if not days:
        return RecallEstimate(None, None, None, 0, 0, 0, 0)
    tail_hat = sum(o.tail * o.picks_explored / o.explored for o in days)
    point = s / (s + tail_hat) if s + tail_hat > 0 else 1.0
    rng = np.random.default_rng(seed)
    tails = np.zeros(draws)
    for o in days:
        tails += o.tail * rng.beta(o.picks_explored + 0.5, o.explored - o.picks_explored + 0.5, size=draws)
    recalls = np.where(s + tails > 0, s / np.maximum(s + tails, 1e-12), 1.0)
    low, high = np.quantile(recalls, [0.05, 0.95])
    return RecallEstimate(
        round(point, 3), round(float(low), 3), round(float(high), 3), explored, len(days), s, x
    )


def cut_fraction(outcomes: Sequence[DayOutcome], target: float) -> tuple[float, float]:
    """(fraction of the day, picks it rests on): the smallest cut that held ``target`` of the picks.

    Picks in the shortlist count once; picks found by exploration count for
    the tail papers each explored paper stands for. The prior's positions
    count as ``PRIOR_WEIGHT`` picks in all.
    """
    positions = list(PRIOR_FRACTIONS)
    weights = [PRIOR_WEIGHT / len(PRIOR_FRACTIONS)] * len(PRIOR_FRACTIONS)
    real = 0.0
    for o in outcomes:
        explored = set(o.explored_positions)
        w_tail = o.tail / o.explored if o.explored else 0.0
        for pos in o.pick_positions:
            w = w_tail if pos in explored else 1.0
            positions.append(pos)
            weights.append(w)
            real += w
    order = np.argsort(positions)
    pos = np.asarray(positions)[order]
    cum = np.cumsum(np.asarray(weights)[order])
    i = int(np.searchsorted(cum, target * cum[-1] - 1e-9))
    return float(pos[min(i, len(pos) - 1)]), real
