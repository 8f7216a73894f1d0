"""Exploration below the cut, an honest estimate of the shortlist's recall, and the cut itself.

The judge only reads what the prefilter sends it, so its verdicts alone can
never reveal the relevant papers the prefilter ranked too low. Each day a
small random sample of the papers below the cut is judged as well. Because
the sample is random, the picks found in it estimate, without bias, how many
picks the whole tail held (each explored paper stands for 1/rate of them),
and so the recall of the shortlist: picks in the shortlist ÷ (those + the
estimated picks in the tail).

The same history sets the cut. A smooth curve, P(pick | position in the
day's ranking) = sigmoid(a + b·log(position) + c·position), is fitted to every judged
paper of earlier days, each counted once; today's shortlist is the smallest
top part of the day that holds ``target_recall`` of the picks the curve
expects. The explored papers need no weights here: they were drawn by
position alone and the curve conditions on position, so the sample cannot
bias it (weights belong to totals, as in the recall estimate above, not to
a model of P(pick | position)). Weighting them by the tail each stands for
let one lucky find deep in the tail count as forty picks and doubled the
next days' shortlists. With little history, a prior curve (``PRIOR_CURVE``)
stands in, counted as ``PRIOR_WEIGHT`` judged papers, and is outweighed as
verdicts accumulate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The pick curve (a, b) before any history: fitted to the cold ranking's
# positions of the judge's picks on the shared days 2025-04-10 … 2025-12-17
# (bench/prefilter_days.py --choose), reported on the later days.
PRIOR_CURVE = (-1.451, -0.325, -4.108)
# The prior counts as this many judged papers, a quarter of a day: chosen in
# bench/prefilter_days.py's sequential mode as the smallest weight whose pooled recall on the
# choosing days (as above) stays >= 0.9 (20: 0.898, 50: 0.915, 200: 0.924, 800: 0.975; ratio
# 0.291, 0.304, 0.340, 0.408). Reported on the later days: 50 gives ratio 0.313 at recall 0.933.
PRIOR_WEIGHT = 50.0


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
    """One judged day as the cut and the recall estimate need it."""

    day: str
    papers: int  # eligible papers of the day
    shortlisted: int
    tail: int  # eligible papers below the cut
    explored: int  # of the tail, judged at random
    picks_shortlist: int
    picks_explored: int
    # (fraction of the day at the paper's rank, picked?, weight) for each judged paper; the
    # planner counts every one once (see the module docstring).
    observations: Sequence[tuple[float, bool, float]] = ()


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
            f"from {self.explored} explored papers over {self.days} day{'s' if self.days != 1 else ''})"
        )

    def as_dict(self) -> dict:
        return dict(vars(self))


def estimate_recall(outcomes: Sequence[DayOutcome], *, draws: int = 4000, seed: int = 0) -> RecallEstimate:
    """Pooled recall of the shortlists of ``outcomes`` with a 90 % interval.

    Each day's sample is the same share of its tail, so the explored papers
    of all days are one random sample of all tails: the tail pick rate is
    X / N (picks found over papers explored) and the tails held
    Σ tail · X / N picks. Point: S / (S + Σ tail · X / N), S the shortlists'
    picks. Interval: the rate drawn from its Jeffreys posterior
    Beta(X + ½, N − X + ½) and the recall recomputed per draw (S is known:
    the judge read every shortlisted paper).
    """
    days = [o for o in outcomes if o.explored > 0]
    if not days:
        return RecallEstimate(None, None, None, 0, 0, 0, 0)
    n = sum(o.explored for o in days)
    x = sum(o.picks_explored for o in days)
    s = sum(o.picks_shortlist for o in days)
    tail = sum(o.tail for o in days)
    point = s / (s + tail * x / n) if s + tail * x / n > 0 else 1.0
    rate = np.random.default_rng(seed).beta(x + 0.5, n - x + 0.5, size=draws)
    recalls = np.where(s + tail * rate > 0, s / np.maximum(s + tail * rate, 1e-12), 1.0)
    low, high = np.quantile(recalls, [0.05, 0.95])
    # With no pick found below the cut the point is 1 while every draw of a positive rate is
    # below it; the interval is widened to hold the point rather than show 1.00 outside it.
    low, high = min(float(low), point), max(float(high), point)
    return RecallEstimate(round(point, 3), round(low, 3), round(high, 3), n, len(days), s, x)


def fit_pick_curve(
    outcomes: Sequence[DayOutcome], prior_weight: float = PRIOR_WEIGHT
) -> tuple[tuple[float, float, float], float]:
    """((a, b, c), judged weight behind it) of P(pick | u) = sigmoid(a + b·log u + c·u), u the fraction of the day.

    A weighted logistic regression on the judged papers plus the prior curve
    as pseudo-observations on a grid of positions.
    """
    from sklearn.linear_model import LogisticRegression

    grid = np.linspace(0.01, 1.0, 50)
    p0 = curve(PRIOR_CURVE, grid)
    u = [*grid, *grid]
    y = [1] * len(grid) + [0] * len(grid)
    w = [*(prior_weight / len(grid) * p0), *(prior_weight / len(grid) * (1 - p0))]
    real = 0.0
    for o in outcomes:
        for pos, picked, weight in o.observations:
            u.append(pos)
            y.append(int(picked))
            w.append(weight)
            real += weight
    if real == 0:
        # Nothing judged yet: the prior itself (a fit to pseudo-observations alone would flatten
        # it a little, by how much depending on PRIOR_WEIGHT against the regularization).
        return PRIOR_CURVE, 0.0
    u = np.asarray(u)
    clf = LogisticRegression(C=100.0, max_iter=2000).fit(_features(u), y, sample_weight=w)
    return (float(clf.intercept_[0]), float(clf.coef_[0, 0]), float(clf.coef_[0, 1])), real


def _features(u: np.ndarray) -> np.ndarray:
    # log u: picks crowd at the top; u: how fast the tail thins out, which a
    # power law alone overstates (it left the tail a fifth of all picks).
    return np.column_stack([np.log(u), u])


def curve(params: Sequence[float], u: np.ndarray) -> np.ndarray:
    a, b, c = params
    return 1 / (1 + np.exp(-(a + b * np.log(u) + c * u)))


def cut_fraction(outcomes: Sequence[DayOutcome], target: float, papers: int) -> tuple[float, float]:
    """(fraction of the day, judged weight behind it): the smallest top part holding ``target`` of expected picks."""
    params, real = fit_pick_curve(outcomes)
    n = max(1, papers)
    u = np.arange(1, n + 1) / n
    p = curve(params, u)
    cum = np.cumsum(p)
    k = int(np.searchsorted(cum, target * cum[-1] - 1e-9)) + 1
    return min(k, n) / n, real
