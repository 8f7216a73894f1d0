"""Bradley–Terry ratings from pairwise verdicts, with uncertainty and position bias.

Pure numerics, no store and no LLM: the tournament, the leaderboard and the
benchmark all use this module.

The model: when paper ``f`` is shown first and ``s`` second,
``P(f wins) = sigmoid(theta_f - theta_s + h)`` where ``h`` is the judge's
first-position advantage, estimated jointly with the strengths so an
unbalanced schedule cannot leak position bias into the ranking. A tie counts as
half a win for each side. Gaussian priors on ``theta`` (sd ``prior_sd``) and
``h`` keep the fit finite when a paper won or lost everything, and make a
paper with no matches sit at 0 with uncertainty ``prior_sd``.

The maximum a posteriori fit is found by Newton's method on the dense
``n x n`` Hessian (milliseconds for a few hundred papers, and a warm start
from the previous fit converges in two or three steps). The inverse of the
negative Hessian (Laplace approximation) gives each paper's uncertainty and the
covariances the pair scheduler needs. We do not call choix here because it has
no ties, no position term and no standard errors; tests check this fit
against ``choix.opt_pairwise`` on tie-free data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Outcome = Literal["first", "second", "tie"]
OUTCOMES: tuple[Outcome, ...] = ("first", "second", "tie")

# Ratings are shown on the Elo scale: 400 points = 10x the odds of winning.
ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1500.0

_FIRST_SCORE = {"first": 1.0, "second": 0.0, "tie": 0.5}


class Tally:
    """Running counts of verdicts between ``n`` items, indexed 0..n-1.

    ``A[f, s]`` is the score of ``f`` in the matches where ``f`` was shown
    first against ``s``; ``B[f, s]`` the score of ``s`` in those matches.
    """

    def __init__(self, n: int = 0):
        self.A = np.zeros((n, n))
        self.B = np.zeros((n, n))
        self.wins = np.zeros(n, dtype=int)
        self.losses = np.zeros(n, dtype=int)
        self.ties = np.zeros(n, dtype=int)
        self.first_counts = np.zeros(n, dtype=int)
        self.position = {"first": 0, "second": 0, "tie": 0}

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def total(self) -> int:
        return sum(self.position.values())

    def grow(self, n: int) -> None:
        """Make room for items up to ``n``; existing counts are kept."""
        extra = n - self.n
        if extra <= 0:
            return
        self.A = np.pad(self.A, ((0, extra), (0, extra)))
        self.B = np.pad(self.B, ((0, extra), (0, extra)))
        for name in ("wins", "losses", "ties", "first_counts"):
            setattr(self, name, np.pad(getattr(self, name), (0, extra)))

    def add(self, first: int, second: int, outcome: Outcome) -> None:
        if first == second:
            raise ValueError("a paper cannot be compared with itself")
        if outcome not in _FIRST_SCORE:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        score = _FIRST_SCORE[outcome]
        self.A[first, second] += score
        self.B[first, second] += 1.0 - score
        self.first_counts[first] += 1
        self.position[outcome] += 1
        if outcome == "tie":
            self.ties[[first, second]] += 1
        else:
            winner, loser = (first, second) if outcome == "first" else (second, first)
            self.wins[winner] += 1
            self.losses[loser] += 1

    @property
    def matches(self) -> np.ndarray:
        return self.wins + self.losses + self.ties

    def first_position_win_rate(self) -> float | None:
        """Share of decisive verdicts won by the paper shown first (0.5 = no bias)."""
        decisive = self.position["first"] + self.position["second"]
        return self.position["first"] / decisive if decisive else None


@dataclass
class BTFit:
    theta: np.ndarray  # log-strengths, mean 0
    cov: np.ndarray  # covariance of theta (Laplace approximation)
    bias: float  # first-position advantage h, in log-odds
    bias_se: float
    iterations: int
    converged: bool

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    @property
    def elo(self) -> np.ndarray:
        return ELO_BASE + ELO_SCALE * self.theta

    @property
    def elo_se(self) -> np.ndarray:
        return ELO_SCALE * self.se

    def win_probability(self, i: int, j: int) -> float:
        """P(i beats j) with the position bias averaged out."""
        return float(1.0 / (1.0 + math.exp(-(self.theta[i] - self.theta[j]))))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_bt(
    A: np.ndarray,
    B: np.ndarray,
    *,
    prior_sd: float = 2.0,
    bias: bool = True,
    bias_prior_sd: float = 1.0,
    init: np.ndarray | None = None,
    init_bias: float = 0.0,
    tol: float = 1e-7,
    max_iter: int = 60,
) -> BTFit:
    """Maximum a posteriori Bradley–Terry strengths from tallies ``A``, ``B``.

    ``init`` warm-starts from a previous fit; entries beyond its length (new
    items) start at 0.
    """
    n = A.shape[0]
    N = A + B
    theta = np.zeros(n)
    if init is not None:
        m = min(len(init), n)
        theta[:m] = init[:m]
    h = init_bias if bias else 0.0
    dim = n + 1 if bias else n
    prior = np.full(dim, 1.0 / prior_sd**2)
    if bias:
        prior[-1] = 1.0 / bias_prior_sd**2

    def objective(th: np.ndarray, hh: float) -> float:
        x = th[:, None] - th[None, :] + hh
        # log sigmoid(x) = -logaddexp(0, -x), stable for large |x|
        ll = -(A * np.logaddexp(0.0, -x) + B * np.logaddexp(0.0, x)).sum()
        return ll - 0.5 * (th @ th) * prior[0] - (0.5 * hh * hh * prior[-1] if bias else 0.0)

    current = objective(theta, h)
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        p = _sigmoid(theta[:, None] - theta[None, :] + h)
        r = A - N * p
        w = N * p * (1.0 - p)
        grad = np.empty(dim)
        grad[:n] = r.sum(1) - r.sum(0) - theta * prior[0]
        ws = w + w.T
        H = -ws  # negative Hessian (precision), off-diagonal part
        H[np.diag_indices(n)] = ws.sum(1)
        if bias:
            grad[n] = r.sum() - h * prior[-1]
            hb = w.sum(1) - w.sum(0)
            H = np.block([[H, hb[:, None]], [hb[None, :], np.array([[w.sum()]])]])
        H[np.diag_indices(dim)] += prior
        step = np.linalg.solve(H, grad)
        # Damped Newton: the objective is concave, so halving always helps.
        t = 1.0
        while True:
            new_theta = theta + t * step[:n]
            new_h = h + t * step[n] if bias else 0.0
            new = objective(new_theta, new_h)
            if new >= current - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        theta, h = new_theta, new_h
        gain, current = new - current, new
        if np.max(np.abs(t * step)) < tol or abs(gain) < tol * 1e-3:
            converged = True
            break

    p = _sigmoid(theta[:, None] - theta[None, :] + h)
    w = N * p * (1.0 - p)
    ws = w + w.T
    H = -ws
    H[np.diag_indices(n)] = ws.sum(1)
    if bias:
        hb = w.sum(1) - w.sum(0)
        H = np.block([[H, hb[:, None]], [hb[None, :], np.array([[w.sum()]])]])
    H[np.diag_indices(dim)] += prior
    cov = np.linalg.inv(H)
    return BTFit(
        theta=theta,
        cov=cov[:n, :n],
        bias=float(h),
        bias_se=float(math.sqrt(cov[n, n])) if bias else 0.0,
        iterations=it,
        converged=converged,
    )


def scale_separation_reliability(theta: np.ndarray, se: np.ndarray) -> float:
    """SSR: the share of the observed rating variance that is not measurement error.

    ``(var(theta) - mean(se^2)) / var(theta)``, clipped to [0, 1]; 0.9 means
    the ranking would barely change if the whole tournament were re-run.
    """
    if len(theta) < 2:
        return 0.0
    observed = float(np.var(theta, ddof=1))
    if observed <= 0:
        return 0.0
    mse = float(np.mean(np.square(se)))
    return max(0.0, min(1.0, (observed - mse) / observed))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions), 1-based."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float | None:
    """Spearman rank correlation, or None when undefined (fewer than 3 or constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError("spearman needs two sequences of the same length")
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry / denom) if denom > 0 else None


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b between two score vectors (O(n^2) memory; fine to a few thousand)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    dx, dy = dx[iu], dy[iu]
    denom = math.sqrt(float(np.count_nonzero(dx)) * float(np.count_nonzero(dy)))
    return float((dx * dy).sum() / denom) if denom > 0 else 0.0
