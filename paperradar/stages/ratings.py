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
from dataclasses import dataclass, field
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

    def record(self, winner: int, loser: int) -> None:
        """A win and a loss read off a k-wise ranking: counted for W/L, fitted through the ranking itself."""
        if winner == loser:
            raise ValueError("a paper cannot be compared with itself")
        self.wins[winner] += 1
        self.losses[loser] += 1

    @property
    def matches(self) -> np.ndarray:
        return self.wins + self.losses + self.ties

    def first_position_win_rate(self) -> float | None:
        """Share of decisive verdicts won by the paper shown first (0.5 = no bias)."""
        decisive = self.position["first"] + self.position["second"]
        return self.position["first"] / decisive if decisive else None


class Rankings:
    """Full rankings of groups of items, one per LLM call (Plackett–Luce observations).

    ``add(shown, ranked)``: ``shown`` the items in the order the call showed
    them, ``ranked`` the same items best first. Kept per group size, because
    each size has its own position effects.
    """

    def __init__(self) -> None:
        self._shown: dict[int, list[list[int]]] = {}
        self._rank: dict[int, list[list[int]]] = {}

    def add(self, shown: list[int] | tuple[int, ...], ranked: list[int] | tuple[int, ...]) -> None:
        shown, ranked = list(shown), list(ranked)
        if len(shown) < 2 or len(set(shown)) != len(shown) or sorted(shown) != sorted(ranked):
            raise ValueError(f"a ranking must order the shown items, each once: shown {shown}, ranked {ranked}")
        where = {item: pos for pos, item in enumerate(shown)}
        k = len(shown)
        self._shown.setdefault(k, []).append(shown)
        # Rank of each shown position (0 = best).
        rank = [0] * k
        for r, item in enumerate(ranked):
            rank[where[item]] = r
        self._rank.setdefault(k, []).append(rank)

    def __len__(self) -> int:
        return sum(len(v) for v in self._shown.values())

    @property
    def sizes(self) -> list[int]:
        return sorted(self._shown)

    def arrays(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(items shown, rank of each shown position) for the calls of size ``k``, shape (calls, k)."""
        return np.array(self._shown[k], dtype=int), np.array(self._rank[k], dtype=int)

    def top_rate(self, k: int) -> list[float]:
        """Share of calls of size ``k`` whose winner was shown at each position (1/k each = no bias)."""
        _, rank = self.arrays(k)
        return [float(x) for x in (rank == 0).mean(0)]


@dataclass
class BTFit:
    theta: np.ndarray  # log-strengths, mean 0
    cov: np.ndarray  # covariance of theta (Laplace approximation)
    bias: float  # first-position advantage h of pairwise verdicts, in log-odds
    bias_se: float
    iterations: int
    converged: bool
    # Position effects of k-wise rankings, per group size: log-strength bonus of
    # each shown position relative to the last one (which is 0), and their se.
    positions: dict[int, list[float]] = field(default_factory=dict)
    positions_se: dict[int, list[float]] = field(default_factory=dict)

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


class _PL:
    """The Plackett–Luce part of the log-posterior: value, gradient and negative Hessian.

    A call showing ``k`` items gives utilities ``u_p = theta[item_p] + beta_k[p]``
    (``beta_k`` the position effects, the last position fixed at 0); its
    ranking is read as ``k - 1`` successive choices of the best remaining
    item, each a softmax over the items not yet placed.
    """

    def __init__(self, rankings: Rankings, n: int, offset: int):
        self.n = n
        self.blocks = []
        self.slots: dict[int, slice] = {}
        at = offset
        for k in rankings.sizes:
            items, rank = rankings.arrays(k)
            self.slots[k] = slice(at, at + k - 1)
            # Parameter index of each (call, position): its item, and its position effect
            # (the dummy index -1 for the reference position, dropped afterwards).
            pos = np.full(k, -1)
            pos[: k - 1] = np.arange(at, at + k - 1)
            self.blocks.append((k, items, rank, pos))
            at += k - 1
        self.dim = at - offset

    def terms(self, x: np.ndarray, want_hessian: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
        size = len(x) + 1  # +1: the dummy slot
        grad = np.zeros(size)
        H = np.zeros((size, size)) if want_hessian else None
        value = 0.0
        xe = np.append(x, 0.0)
        for k, items, rank, pos in self.blocks:
            u = xe[items] + xe[pos][None, :]
            gu = np.zeros_like(u)
            hu = np.zeros((len(u), k, k)) if want_hessian else None
            for s in range(k - 1):
                remaining = rank >= s
                z = np.where(remaining, u, -np.inf)
                top = z.max(1, keepdims=True)
                e = np.exp(z - top)
                total = e.sum(1, keepdims=True)
                prob = e / total
                chosen = rank == s
                value += float((u[chosen] - (top[:, 0] + np.log(total[:, 0]))).sum())
                gu += chosen - prob
                if want_hessian:
                    hu += prob[:, :, None] * (np.eye(k)[None] - prob[:, None, :])
            idx = np.concatenate([items, np.broadcast_to(pos, items.shape)], axis=1)  # (calls, 2k)
            idx = np.where(idx < 0, size - 1, idx)
            # bincount on flat indices: np.add.at is ten times slower here.
            grad += np.bincount(idx.ravel(), np.concatenate([gu, gu], axis=1).ravel(), minlength=size)
            if want_hessian:
                flat = (idx[:, :, None] * size + idx[:, None, :]).ravel()
                h2 = np.tile(hu, (1, 2, 2)).ravel()
                H += np.bincount(flat, h2, minlength=size * size).reshape(size, size)
        return value, grad[:-1], (H[:-1, :-1] if want_hessian else None)


def fit_bt(
    A: np.ndarray,
    B: np.ndarray,
    *,
    rankings: Rankings | None = None,
    prior_sd: float = 2.0,
    bias: bool = True,
    bias_prior_sd: float = 1.0,
    init: np.ndarray | None = None,
    init_bias: float = 0.0,
    tol: float = 1e-7,
    max_iter: int = 60,
) -> BTFit:
    """Maximum a posteriori strengths from pairwise tallies ``A``, ``B`` and k-wise ``rankings``.

    Pairwise verdicts are Bradley–Terry observations with a first-position
    term ``h``; rankings are Plackett–Luce observations with their own
    position effects per group size (prior sd ``bias_prior_sd``, like ``h``).
    Both inform the same strengths. ``init`` warm-starts from a previous fit;
    entries beyond its length (new items) start at 0.
    """
    n = A.shape[0]
    N = A + B
    theta = np.zeros(n)
    if init is not None:
        m = min(len(init), n)
        theta[:m] = init[:m]
    nb = 1 if bias else 0
    pl = _PL(rankings, n, n + nb) if rankings is not None and len(rankings) else None
    dim = n + nb + (pl.dim if pl else 0)
    x = np.zeros(dim)
    x[:n] = theta
    if bias:
        x[n] = init_bias
    prior = np.full(dim, 1.0 / bias_prior_sd**2)
    prior[:n] = 1.0 / prior_sd**2

    def parts(x: np.ndarray, want: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
        th, h = x[:n], (x[n] if bias else 0.0)
        xx = th[:, None] - th[None, :] + h
        # log sigmoid(x) = -logaddexp(0, -x), stable for large |x|
        value = -float((A * np.logaddexp(0.0, -xx) + B * np.logaddexp(0.0, xx)).sum())
        value -= 0.5 * float((x * x) @ prior)
        grad = -x * prior
        H = np.diag(prior) if want else None
        p = _sigmoid(xx)
        r = A - N * p
        w = N * p * (1.0 - p)
        grad[:n] += r.sum(1) - r.sum(0)
        if want:
            ws = w + w.T
            H[:n, :n] += np.diag(ws.sum(1)) - ws
        if bias:
            grad[n] += r.sum()
            if want:
                hb = w.sum(1) - w.sum(0)
                H[:n, n] += hb
                H[n, :n] += hb
                H[n, n] += w.sum()
        if pl is not None:
            v, g, hh = pl.terms(x, want)
            value += v
            grad += g
            if want:
                H += hh
        return value, grad, H

    current, grad, H = parts(x)
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        step = np.linalg.solve(H, grad)
        # Damped Newton: the objective is concave, so halving always helps.
        t = 1.0
        while True:
            new_x = x + t * step
            new = parts(new_x, False)[0]
            if new >= current - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        x = new_x
        gain = new - current
        current, grad, H = parts(x)
        if np.max(np.abs(t * step)) < tol or abs(gain) < tol * 1e-3:
            converged = True
            break

    cov = np.linalg.inv(H)
    positions: dict[int, list[float]] = {}
    positions_se: dict[int, list[float]] = {}
    if pl is not None:
        for k, sl in pl.slots.items():
            positions[k] = [float(v) for v in x[sl]] + [0.0]
            positions_se[k] = [float(math.sqrt(cov[i, i])) for i in range(sl.start, sl.stop)] + [0.0]
    return BTFit(
        theta=x[:n].copy(),
        cov=cov[:n, :n],
        bias=float(x[n]) if bias else 0.0,
        bias_se=float(math.sqrt(cov[n, n])) if bias else 0.0,
        iterations=it,
        converged=converged,
        positions=positions,
        positions_se=positions_se,
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
