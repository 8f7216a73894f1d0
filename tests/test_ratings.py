"""Rating math against hand-checkable results, and the pair scheduler's invariants."""

from __future__ import annotations

import math

import choix
import numpy as np
import pytest

from paperradar.stages.pairing import pair_gain, select_pairs
from paperradar.stages.ratings import ELO_SCALE, Tally, fit_bt, kendall_tau, scale_separation_reliability, spearman

FLAT = 1e4  # a prior so wide it does not matter


def test_two_papers_three_to_one_gives_log_odds_of_three():
    t = Tally(2)
    for _ in range(3):
        t.add(0, 1, "first")
    t.add(1, 0, "first")
    fit = fit_bt(t.A, t.B, prior_sd=FLAT, bias=False)
    assert fit.theta[0] - fit.theta[1] == pytest.approx(math.log(3), abs=1e-6)
    assert fit.win_probability(0, 1) == pytest.approx(0.75, abs=1e-6)
    assert fit.elo[0] - fit.elo[1] == pytest.approx(ELO_SCALE * math.log(3), abs=1e-3)
    # With a flat prior, Var(theta0 - theta1) = 1 / (n p (1-p)) = 1 / (4 * 3/16).
    v = fit.cov[0, 0] + fit.cov[1, 1] - 2 * fit.cov[0, 1]
    assert v == pytest.approx(4 / 3, rel=1e-3)


def test_ties_count_half_a_win_each():
    t = Tally(2)
    t.add(0, 1, "first")
    t.add(0, 1, "tie")
    t.add(1, 0, "tie")
    # Paper 0 scores 1 + 0.5 + 0.5 = 2 of 3: odds 2 to 1.
    fit = fit_bt(t.A, t.B, prior_sd=FLAT, bias=False)
    assert fit.theta[0] - fit.theta[1] == pytest.approx(math.log(2), abs=1e-6)
    assert (t.wins.tolist(), t.losses.tolist(), t.ties.tolist()) == ([1, 0], [0, 1], [2, 2])


def test_a_cycle_gives_equal_ratings():
    t = Tally(3)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        t.add(a, b, "first")
        t.add(b, a, "second")
    fit = fit_bt(t.A, t.B, prior_sd=FLAT)
    assert np.allclose(fit.theta, 0, atol=1e-6)
    assert fit.bias == pytest.approx(0, abs=1e-6)


def test_position_bias_is_estimated_not_folded_into_ratings():
    # Equal papers; whoever is shown first wins 3 of 4 in both orders.
    t = Tally(2)
    for first, second in ((0, 1), (1, 0)):
        for outcome in ("first", "first", "first", "second"):
            t.add(first, second, outcome)
    fit = fit_bt(t.A, t.B, prior_sd=FLAT, bias_prior_sd=FLAT)
    assert fit.theta[0] == pytest.approx(fit.theta[1], abs=1e-6)
    assert fit.bias == pytest.approx(math.log(3), abs=1e-6)
    assert t.first_position_win_rate() == 0.75


def test_matches_choix_on_tie_free_data():
    rng = np.random.default_rng(3)
    n = 12
    data, t = [], Tally(n)
    for _ in range(150):
        i, j = (int(x) for x in rng.choice(n, 2, replace=False))
        data.append((i, j))
        t.add(i, j, "first")
    alpha = 0.2  # choix penalises alpha * |theta|^2, i.e. a prior sd of 1 / sqrt(2 alpha)
    expected = choix.opt_pairwise(n, data, alpha=alpha, tol=1e-10)
    fit = fit_bt(t.A, t.B, prior_sd=1 / math.sqrt(2 * alpha), bias=False)
    assert np.allclose(fit.theta, expected, atol=1e-6)


def test_warm_start_reaches_the_same_fit():
    rng = np.random.default_rng(5)
    t = Tally(20)
    strengths = rng.normal(0, 1.5, 20)
    for _ in range(300):
        i, j = rng.choice(20, 2, replace=False)
        t.add(i, j, "first" if rng.random() < 1 / (1 + math.exp(strengths[j] - strengths[i])) else "second")
    cold = fit_bt(t.A, t.B)
    warm = fit_bt(t.A, t.B, init=cold.theta + 0.1, init_bias=cold.bias)
    assert np.allclose(cold.theta, warm.theta, atol=1e-5)
    assert kendall_tau(cold.theta, strengths) > 0.6


def test_unplayed_paper_sits_at_zero_with_prior_uncertainty():
    t = Tally(3)
    t.add(0, 1, "first")
    fit = fit_bt(t.A, t.B, prior_sd=2.0)
    assert fit.theta[2] == pytest.approx(0, abs=1e-9)
    assert fit.se[2] == pytest.approx(2.0, rel=1e-6)
    assert fit.se[0] < 2.0


def test_ssr_from_known_variances():
    theta = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # sample variance 2.5
    assert scale_separation_reliability(theta, np.full(5, 0.5)) == pytest.approx((2.5 - 0.25) / 2.5)
    assert scale_separation_reliability(theta, np.full(5, 3.0)) == 0.0  # error larger than spread
    assert scale_separation_reliability(np.zeros(4), np.ones(4)) == 0.0


def test_spearman_and_kendall():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties get average ranks: x ranks [1.5, 1.5, 3], y ranks [1, 2, 3]
    assert spearman([5, 5, 7], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert kendall_tau(np.array([1, 2, 3]), np.array([1, 3, 2])) == pytest.approx(1 / 3)


def test_tally_rejects_bad_input():
    t = Tally(2)
    with pytest.raises(ValueError):
        t.add(0, 0, "first")
    with pytest.raises(ValueError):
        t.add(0, 1, "paper 1")


# -- scheduler ------------------------------------------------------------------------------


def simulate(n, rounds, k, *, both_orders=False, seed=0):
    rng = np.random.default_rng(seed)
    strengths = rng.normal(0, 2, n)
    t, judged = Tally(n), np.zeros((n, n), dtype=bool)
    fit = fit_bt(t.A, t.B)
    scheduled = []
    for _ in range(rounds):
        plan = select_pairs(fit, judged, k, first_counts=t.first_counts, both_orders=both_orders, rng=rng)
        if not plan:
            break
        for p in plan:
            scheduled.append((p.first, p.second))
            judged[p.first, p.second] = True
            d = strengths[p.first] - strengths[p.second]
            t.add(p.first, p.second, "first" if rng.random() < 1 / (1 + math.exp(-d)) else "second")
        fit = fit_bt(t.A, t.B, init=fit.theta, init_bias=fit.bias)
    return scheduled, t, fit


def test_no_ordered_pair_is_scheduled_twice_and_budget_is_respected():
    scheduled, t, _ = simulate(6, rounds=40, k=4)
    assert len(scheduled) == len(set(scheduled))
    assert all(a != b for a, b in scheduled)
    # 6 papers have 30 ordered pairs: the scheduler stops when all are used.
    assert len(scheduled) == 30
    plan_sizes = simulate(30, rounds=3, k=7)[0]
    assert len(plan_sizes) == 21


def test_both_orders_schedules_each_pair_in_both_orders_once():
    scheduled, _, _ = simulate(8, rounds=20, k=6, both_orders=True)
    assert len(scheduled) == len(set(scheduled)) == 56
    pairs = {frozenset(p) for p in scheduled}
    assert all((a, b) in scheduled and (b, a) in scheduled for a, b in (tuple(p) for p in pairs))


def test_balanced_first_positions():
    _, t, _ = simulate(20, rounds=20, k=10)
    # Papers play different numbers of matches (crowded parts of the scale get
    # more), so balance is each paper's share of first positions, not raw counts.
    assert np.abs(t.first_counts - t.matches / 2).max() <= 3


def test_groups_and_active_restrict_pairs():
    t = Tally(6)
    fit = fit_bt(t.A, t.B)
    judged = np.zeros((6, 6), dtype=bool)
    groups = np.array([0, 0, 0, 1, 1, 1])
    plan = select_pairs(fit, judged, 30, groups=groups)
    assert plan and all(groups[p.first] == groups[p.second] for p in plan)
    active = np.array([True, True, False, True, False, False])
    plan = select_pairs(fit, judged, 30, active=active)
    assert plan and all(active[p.first] and active[p.second] for p in plan)


def test_new_papers_join_without_replays_and_are_scheduled_first():
    scheduled, t, fit = simulate(10, rounds=6, k=5)
    before = set(scheduled)
    t.grow(13)
    judged = np.zeros((13, 13), dtype=bool)
    for a, b in before:
        judged[a, b] = True
    fit2 = fit_bt(t.A, t.B, init=fit.theta, init_bias=fit.bias)
    assert np.allclose(fit2.theta[:10], fit.theta, atol=1e-4)  # old matches kept, new papers at 0
    plan = select_pairs(fit2, judged, 3, first_counts=t.first_counts)
    assert not {(p.first, p.second) for p in plan} & before
    # The three newcomers are the most uncertain: each of them plays in the first batch.
    assert {10, 11, 12} <= {x for p in plan for x in (p.first, p.second)}


def test_gain_prefers_close_uncertain_pairs():
    t = Tally(3)
    for _ in range(20):
        t.add(0, 1, "first")
        t.add(1, 0, "second")
    fit = fit_bt(t.A, t.B)
    g = pair_gain(fit)
    # Paper 2 is unplayed (wide prior), so pairs with it beat the well-measured 0-1 pair.
    assert g[0, 2] > g[0, 1] and g[1, 2] > g[0, 1]


def test_gain_favours_pairs_in_crowded_parts_of_the_scale():
    """Two pairs equally close and equally uncertain: the one among many near neighbours
    (where a misplaced paper swaps with several others) goes first, not the one in a tail."""
    from paperradar.stages.pairing import discord_weights
    from paperradar.stages.ratings import BTFit

    theta = np.array([-6.0, -5.6, -0.2, 0.2, 0.0, 0.1, -0.1, 0.3, -0.3, 0.05])
    fit = BTFit(theta=theta, cov=np.eye(10) * 0.25, bias=0.0, bias_se=0.1, iterations=1, converged=True)
    g = pair_gain(fit)
    assert g[2, 3] > 1.5 * g[0, 1] > 0
    w = discord_weights(theta, np.full((10, 10), 0.5))
    assert w[2, 3] > w[0, 2] > 0 and w[0, 0] == 0
    plan = select_pairs(fit, np.zeros((10, 10), dtype=bool), 1)
    assert {plan[0].first, plan[0].second} <= set(range(2, 10))


# -- k-wise rankings (Plackett–Luce) -------------------------------------------------------------


def test_rankings_shown_in_every_order_match_choix_and_have_no_position_effect():
    import itertools

    from paperradar.stages.ratings import Rankings

    rng = np.random.default_rng(0)
    rankings, data = Rankings(), []
    for _ in range(30):
        group = [int(x) for x in rng.choice(7, 3, replace=False)]
        ranked = [int(x) for x in rng.permutation(group)]
        for shown in itertools.permutations(group):
            rankings.add(shown, ranked)
            data.append(ranked)
    zeros = np.zeros((7, 7))
    fit = fit_bt(zeros, zeros, rankings=rankings, prior_sd=FLAT, bias=False)
    expected = choix.opt_rankings(7, data, alpha=0)
    assert np.allclose(fit.theta - fit.theta.mean(), expected - expected.mean(), atol=1e-5)
    assert np.allclose(fit.positions[3], 0.0, atol=1e-6)
    assert len(fit.positions_se[3]) == 3 and fit.positions_se[3][0] > 0


def test_position_effects_of_rankings_are_fitted_not_folded_into_ratings():
    from paperradar.stages.ratings import Rankings

    rng = np.random.default_rng(1)
    strengths = rng.normal(0.0, 1.0, 60)
    bonus = np.array([0.8, 0.0, 0.0, 0.3])  # the first and last shown are favoured
    rankings = Rankings()
    for _ in range(4000):
        shown = rng.choice(60, 4, replace=False)
        u = strengths[shown] + bonus + rng.gumbel(size=4)
        rankings.add(shown.tolist(), shown[np.argsort(-u)].tolist())
    zeros = np.zeros((60, 60))
    fit = fit_bt(zeros, zeros, rankings=rankings, prior_sd=3.0)
    assert np.allclose(fit.positions[4], bonus - bonus[-1], atol=0.12)
    assert spearman(fit.theta, strengths) > 0.95
    # The per-position winner shares show the raw bias the fit corrects for.
    assert rankings.top_rate(4)[0] > 0.3 > rankings.top_rate(4)[1]


def test_pairwise_and_ranking_evidence_share_one_scale():
    from paperradar.stages.ratings import Rankings

    t, rankings = Tally(3), Rankings()
    for _ in range(5):
        t.add(0, 1, "first")
        t.add(1, 0, "second")
    for _ in range(5):
        rankings.add([1, 2, 0], [1, 2, 0])
        rankings.add([2, 0, 1], [1, 2, 0])
        rankings.add([0, 1, 2], [1, 2, 0])
    pair_only = fit_bt(t.A, t.B, prior_sd=2.0)
    both = fit_bt(t.A, t.B, rankings=rankings, prior_sd=2.0)
    assert pair_only.theta[0] > pair_only.theta[1]
    # The rankings put 1 first; together they leave 0 vs 1 far closer and 2 above 0.
    assert both.theta[1] > pair_only.theta[1] and both.theta[2] > both.theta[0]
    assert both.se[0] < pair_only.se[0]


def test_a_ranking_must_order_the_shown_items_once_each():
    from paperradar.stages.ratings import Rankings

    r = Rankings()
    with pytest.raises(ValueError):
        r.add([0, 1, 2], [0, 1])
    with pytest.raises(ValueError):
        r.add([0, 0, 1], [0, 1, 0])


def test_groups_are_chosen_by_information_per_token():
    from paperradar.stages.pairing import select_groups
    from paperradar.stages.ratings import BTFit

    # Ten equal, uncertain papers; two of them cost ten times the tokens.
    fit = BTFit(theta=np.zeros(10), cov=np.eye(10), bias=0.0, bias_se=0.1, iterations=1, converged=True)
    costs = np.full(10, 100.0)
    costs[[3, 7]] = 1000.0
    plan = select_groups(fit, 4, 1, costs=costs, overhead=200.0, rng=np.random.default_rng(0))
    assert len(plan) == 1 and len(plan[0].items) == 4
    assert not {3, 7} & set(plan[0].items)
    assert plan[0].tokens == 600.0
    # A batch uses each paper once while enough are left: two groups of 4 from 10.
    plan = select_groups(fit, 4, 5, costs=costs, overhead=200.0, rng=np.random.default_rng(0))
    assert len(plan) == 2 and len({i for g in plan for i in g.items}) == 8


def test_groups_go_where_the_order_is_uncertain():
    from paperradar.stages.pairing import select_groups

    t = Tally(8)
    for a in range(4):  # papers 0-3 are well known and far apart; 4-7 never played
        for b in range(a + 1, 4):
            for _ in range(6):
                t.add(a, b, "first")
                t.add(b, a, "second")
    fit = fit_bt(t.A, t.B)
    plan = select_groups(fit, 3, 1, rng=np.random.default_rng(0))
    assert sum(i >= 4 for i in plan[0].items) >= 2
