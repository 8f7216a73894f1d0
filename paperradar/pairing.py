"""Choosing the next comparisons of a tournament: pure code, no store, no LLM.

Each candidate pair is scored by how much one more verdict would shrink the
uncertainty of the difference of the two ratings (Laplace approximation): with
``v = var(theta_i - theta_j)`` and Fisher information ``I = p (1 - p)`` of one
verdict at the current win probability ``p``, the posterior variance drops from
``v`` to ``v / (1 + v I)``. That favours pairs that are both close (``p`` near
0.5, so the verdict is not a foregone conclusion) and uncertain (new papers,
papers with few matches), which is where the ranking can still change.

A batch is chosen greedily from the best pairs with each paper at most once,
like a Swiss round, because scores are not refreshed until the next fit.
Ordered pairs already judged are never scheduled again, so adding papers to a
tournament re-runs nothing: the new papers simply start with the prior's large
uncertainty and get scheduled first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ratings import BTFit


@dataclass(frozen=True)
class PairPlan:
    first: int
    second: int
    gain: float


def pair_gain(fit: BTFit) -> np.ndarray:
    """Symmetric matrix of expected variance reduction from one more verdict."""
    theta, cov = fit.theta, fit.cov
    d = np.diag(cov)
    v = np.clip(d[:, None] + d[None, :] - 2.0 * cov, 1e-12, None)
    p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
    info = p * (1.0 - p)
    return v * v * info / (1.0 + v * info)


def select_pairs(
    fit: BTFit,
    judged: np.ndarray,
    k: int,
    *,
    first_counts: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    active: np.ndarray | None = None,
    both_orders: bool = False,
    rng: np.random.Generator | None = None,
) -> list[PairPlan]:
    """Pick up to ``k`` ordered comparisons (first, second) to run next.

    ``judged[f, s]`` is True when ``f`` vs ``s`` in that order has a verdict
    (or is already scheduled). ``groups``: only pairs within the same group
    (category). ``active``: only pairs where both items are active (e.g. the
    papers of the period). ``both_orders``: schedule every chosen pair in both
    orders back to back (consumes two of ``k``) and only pick pairs never
    judged; otherwise each pair is judged once per order at most, the item
    shown first less often going first.
    """
    n = fit.theta.shape[0]
    if judged.shape != (n, n):
        raise ValueError(f"judged has shape {judged.shape}, expected {(n, n)}")
    if k <= 0 or n < 2:
        return []
    rng = rng or np.random.default_rng(0)
    gain = pair_gain(fit)
    # Jitter only breaks exact ties (e.g. before any verdict) at random.
    gain = gain * (1.0 + 1e-9 * rng.random(gain.shape))
    valid = np.triu(np.ones((n, n), dtype=bool), 1)
    if both_orders:
        valid &= ~(judged | judged.T)
    else:
        valid &= ~(judged & judged.T)
    if groups is not None:
        groups = np.asarray(groups)
        valid &= groups[:, None] == groups[None, :]
    if active is not None:
        active = np.asarray(active, dtype=bool)
        valid &= active[:, None] & active[None, :]
    ii, jj = np.nonzero(valid)
    if len(ii) == 0:
        return []
    scores = gain[ii, jj]
    order = np.argsort(-scores, kind="stable")
    counts = np.zeros(n, dtype=int) if first_counts is None else np.array(first_counts, dtype=int)
    pairs_wanted = k // 2 if both_orders else k
    if pairs_wanted == 0:
        return []
    picked: list[PairPlan] = []
    used = np.zeros(n, dtype=bool)
    taken: set[tuple[int, int]] = set()
    n_pairs = 0
    # First pass: a matching (each item once). Second pass, only when the
    # matching is too small for k (few items), lets items play again.
    for allow_reuse in (False, True):
        for idx in order:
            if n_pairs >= pairs_wanted:
                break
            i, j = int(ii[idx]), int(jj[idx])
            if (i, j) in taken or (not allow_reuse and (used[i] or used[j])):
                continue
            taken.add((i, j))
            used[i] = used[j] = True
            n_pairs += 1
            g = float(scores[idx])
            if both_orders:
                picked += [PairPlan(i, j, g), PairPlan(j, i, g)]
                continue
            first, second = (i, j) if counts[i] <= counts[j] else (j, i)
            if judged[first, second]:
                first, second = second, first
            counts[first] += 1
            picked.append(PairPlan(first, second, g))
        if n_pairs >= pairs_wanted:
            break
    return picked
