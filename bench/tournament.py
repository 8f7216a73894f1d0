"""What does a tournament cost, in LLM calls and tokens, to recover the true order?

A simulated judge with hidden true strengths answers "which paper has more
potential impact?" with noise, ties and position bias. For each tournament size
N we run, on the same hidden strengths, until the fitted ranking reaches Kendall
tau >= 0.9 against the hidden order and until its top 10 holds 9 of the true
top 10 (the part a digest shows), and count calls and tokens:

- random-pairwise: a uniformly random pair per call, in random order (the baseline);
- paperradar-pairwise: :func:`paperradar.stages.pairing.select_pairs` (expected information);
- k=K: one call ranks K papers (:func:`paperradar.stages.pairing.select_groups`, expected
  information per token), fitted as Plackett–Luce observations with position effects
  (:func:`paperradar.stages.ratings.fit_bt` with ``rankings``).

Tokens per call come from the prompts production sends
(:func:`paperradar.stages.match.build_messages`, :func:`paperradar.stages.group_match.build_group_messages`)
on real abstracts from ../shared/data/days (each simulated paper is a real one,
drawn per seed), counted with tiktoken, plus a typical answer of each format.
Abstract-only prompts (no assessments), as on a day the assessments are off.

The pairwise judge (as before): true strengths ~ Normal(0, spread^2) in log-odds;
each call adds Normal(0, noise^2) to the strength difference, gives a tie with
probability ``tie_rate * 4 q (1 - q)`` and otherwise picks the first paper with
probability ``sigmoid(diff + position_bias)``.

The k-wise judge: each shown paper's utility is its strength + the effect of its
position + Normal(0, kwise_noise_k^2) + a standard Gumbel draw, and the answer lists
the papers by utility (Plackett–Luce with a noisy judge). ``kwise_noise_k =
kwise_noise * (1 + noise_growth * (k - 2))``: longer lists are judged worse. Position
effects: +first_bias for the first paper, +last_bias for the last (k >= 3; LLMs
favour both ends), 0 between. With the defaults each pair in a call is misordered
at least as often as by the pairwise judge, and the first-vs-middle advantage equals
the pairwise first-position bias. The sensitivity rows rerun k-wise with a judge
twice as noisy and twice as position-biased.

The ``floor`` columns are how few tokens *any* schedule could need on these judges
(:func:`information_bound`, as for pairwise: every call as informative as the
judge allows, opponents known exactly, information spread optimally).

    python bench/tournament.py            # N = 100, 200, 500, k = 3..6, 2 seeds; about 60 CPU-minutes
    python bench/tournament.py --quick    # N = 100, one seed, k = 4, 6; under a minute
"""

from __future__ import annotations

import os

# One BLAS thread: the fits are small and threads fight over the cores (ten times slower here).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from shared_day import SHARED, read_listing  # noqa: E402
from tokens import chat_tokens, tokenizer  # noqa: E402

from paperradar.core.config import TournamentConfig  # noqa: E402
from paperradar.stages.group_match import build_group_messages, paper_block  # noqa: E402
from paperradar.stages.match import build_messages  # noqa: E402
from paperradar.stages.pairing import select_groups, select_pairs  # noqa: E402
from paperradar.stages.ratings import Rankings, Tally, fit_bt, kendall_tau, scale_separation_reliability  # noqa: E402

REASON = (
    "Paper 2 addresses a problem many groups face and its method transfers to other settings; its evidence "
    "covers several benchmarks. Paper 1 is a solid but narrow improvement whose gains are small."
)
TOP = 10


@dataclass
class Judge:
    strengths: np.ndarray
    noise: float
    tie_rate: float
    position_bias: float
    rng: np.random.Generator
    calls: int = 0

    def __call__(self, first: int, second: int) -> str:
        self.calls += 1
        diff = self.strengths[first] - self.strengths[second] + self.rng.normal(0.0, self.noise)
        p = 1.0 / (1.0 + math.exp(-(diff + self.position_bias)))
        q = 1.0 / (1.0 + math.exp(-diff))
        u = self.rng.random()
        tie = self.tie_rate * 4.0 * q * (1.0 - q)
        if u < tie:
            return "tie"
        return "first" if self.rng.random() < p else "second"


@dataclass(frozen=True)
class GroupJudgeModel:
    noise: float
    noise_growth: float
    first_bias: float
    last_bias: float

    def sd(self, k: int) -> float:
        return self.noise * (1.0 + self.noise_growth * (k - 2))

    def positions(self, k: int) -> np.ndarray:
        b = np.zeros(k)
        b[0] = self.first_bias
        if k >= 3:
            b[-1] = self.last_bias
        return b

    def describe(self) -> str:
        return (
            f"utility = strength + position effect (first {self.first_bias:+}, last {self.last_bias:+}, "
            f"middle 0) + Normal(0, ({self.noise} * (1 + {self.noise_growth} (k - 2)))^2) + Gumbel"
        )


@dataclass
class GroupJudge:
    strengths: np.ndarray
    model: GroupJudgeModel
    rng: np.random.Generator
    calls: int = 0

    def rank(self, shown: tuple[int, ...]) -> list[int]:
        self.calls += 1
        k = len(shown)
        u = self.strengths[list(shown)] + self.model.positions(k)
        u = u + self.rng.normal(0.0, self.model.sd(k), k) + self.rng.gumbel(size=k)
        return [shown[i] for i in np.argsort(-u)]


# -- tokens -----------------------------------------------------------------------------------


@dataclass
class Prices:
    """Tokens per call: a fixed part per group size plus each paper's block, measured on real papers."""

    paper: np.ndarray  # tokens of each real paper's block
    overhead: dict[int, float]  # per k (2 = the pairwise prompt)
    worst_error: float  # largest |additive estimate - exact count| over the checked calls, in tokens
    tokenizer: str

    def call(self, k: int, items) -> float:
        return self.overhead[k] + float(self.paper[list(items)].sum())


def real_papers(data: Path) -> list:
    papers = []
    for f in sorted((data / "days").glob("*.jsonl")):
        papers += read_listing(f)[0]
    if not papers:
        raise SystemExit(f"no real papers under {data / 'days'}: pass --data with the shared data folder")
    return papers


def measure_prices(papers: list, ks: list[int], tc: TournamentConfig) -> Prices:
    name, count = tokenizer()
    block = np.array([count(paper_block(1, p, tc)) for p in papers], dtype=float)
    rng = np.random.default_rng(5)
    overhead, worst = {}, 0.0
    for k in sorted({2, *ks}):
        exact, blocks = [], []
        for _ in range(20):
            idx = rng.choice(len(papers), k, replace=False)
            group = [papers[i] for i in idx]
            if k == 2:
                msgs, answer = build_messages(group[0], group[1], tc), {"winner": 2, "reason": REASON}
            else:
                msgs = build_group_messages(group, tc)
                answer = {"ranking": list(range(k, 0, -1)), "reason": REASON}
            exact.append(chat_tokens(msgs, count) + count(json.dumps(answer)))
            blocks.append(block[idx].sum())
        diff = np.array(exact) - np.array(blocks)
        overhead[k] = float(diff.mean())
        worst = max(worst, float(np.abs(diff - diff.mean()).max()))
    return Prices(block, overhead, worst, name)


# -- strategies -------------------------------------------------------------------------------


class RandomPairs:
    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng

    def next(self, tally: Tally, judged: np.ndarray, fit, k: int) -> list[tuple[int, int]]:
        out = []
        while len(out) < k:
            i, j = self.rng.choice(self.n, 2, replace=False)
            if not judged[i, j]:
                judged[i, j] = True
                out.append((int(i), int(j)))
        return out


class Scheduled:
    def __init__(self, n: int, rng: np.random.Generator):
        self.rng = rng

    def next(self, tally: Tally, judged: np.ndarray, fit, k: int) -> list[tuple[int, int]]:
        plan = select_pairs(fit, judged, k, first_counts=tally.first_counts, rng=self.rng)
        for p in plan:
            judged[p.first, p.second] = True
        return [(p.first, p.second) for p in plan]


PAIRWISE = {"random-pairwise": RandomPairs, "paperradar-pairwise": Scheduled}


@dataclass
class Result:
    tau_calls: int | None = None
    tau_tokens: float | None = None
    top_calls: int | None = None
    top_tokens: float | None = None
    ssr: float | None = None
    seconds: float = 0.0
    positions: list[float] = field(default_factory=list)


def hidden_strengths(n: int, seed: int, args) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, args.spread, n)


def top_precision(theta: np.ndarray, truth: np.ndarray, top: int = TOP) -> float:
    top = min(top, len(truth))
    return len(set(np.argsort(-theta)[:top]) & set(np.argsort(-truth)[:top])) / top


def simulate(strategy: str, n: int, seed: int, args, prices: Prices, gmodel: GroupJudgeModel | None = None) -> Result:
    started = time.perf_counter()
    strengths = hidden_strengths(n, seed, args)
    papers = np.random.default_rng(seed + 3).choice(len(prices.paper), n, replace=False)
    costs = prices.paper[papers]
    item_prices = Prices(costs, prices.overhead, prices.worst_error, prices.tokenizer)
    judge = Judge(strengths, args.noise, args.tie_rate, args.position_bias, np.random.default_rng(seed + 1))
    k = int(strategy.split("=")[1]) if strategy.startswith("k=") else 2
    gjudge = GroupJudge(strengths, gmodel, np.random.default_rng(seed + 1)) if k > 2 else None
    chooser = PAIRWISE[strategy](n, np.random.default_rng(seed + 2)) if k == 2 else None
    rng = np.random.default_rng(seed + 2)
    tally, rankings = Tally(n), Rankings()
    judged = np.zeros((n, n), dtype=bool)
    # A quarter of the papers' pairs per batch (half the papers), as many paper slots for groups.
    step = max(8, n // 4)
    group_step = max(2, n // (2 * k))
    cap = args.cap_per_paper * n
    fit = fit_bt(tally.A, tally.B, prior_sd=args.prior_sd)
    result, calls, tokens = Result(), 0, 0.0
    while calls < cap:
        if k == 2:
            pairs = chooser.next(tally, judged, fit, step)
            if not pairs:
                break
            for first, second in pairs:
                tally.add(first, second, judge(first, second))
                tokens += item_prices.call(2, (first, second))
            calls += len(pairs)
        else:
            plan = select_groups(fit, k, group_step, costs=costs, overhead=prices.overhead[k], rng=rng)
            for g in plan:
                rankings.add(g.items, gjudge.rank(g.items))
                tokens += item_prices.call(k, g.items)
            calls += len(plan)
        fit = fit_bt(tally.A, tally.B, rankings=rankings, prior_sd=args.prior_sd, init=fit.theta, init_bias=fit.bias)
        tau = kendall_tau(fit.theta, strengths)
        if result.tau_calls is None and tau >= args.target:
            result.tau_calls, result.tau_tokens = calls, tokens
            result.ssr = scale_separation_reliability(fit.theta, fit.se)
        if result.top_calls is None and top_precision(fit.theta, strengths) >= args.top_target:
            result.top_calls, result.top_tokens = calls, tokens
        if result.tau_calls is not None and result.top_calls is not None:
            break
    result.positions = fit.positions.get(k, [])
    result.seconds = time.perf_counter() - started
    return result


# -- what one call can carry ----------------------------------------------------------------------


def verdict_information(args) -> float:
    """The most Fisher information one pairwise verdict can carry about a strength difference.

    The outcome (first wins, second wins, tie) is a distribution over three
    values whose probabilities depend on the difference ``d``; its Fisher
    information peaks where the judge is least predictable (``d`` near minus
    the position bias). Gauss–Hermite quadrature averages over the judge's mood.
    """
    from numpy.polynomial.hermite_e import hermegauss

    x, w = hermegauss(60)
    w = w / w.sum()
    mood = args.noise * x

    def probs(d: float) -> np.ndarray:
        z = d + mood
        p = 1.0 / (1.0 + np.exp(-(z + args.position_bias)))
        q = 1.0 / (1.0 + np.exp(-z))
        tie = args.tie_rate * 4.0 * q * (1.0 - q)
        pt, pf = float(w @ tie), float(w @ ((1.0 - tie) * p))
        return np.array([pf, 1.0 - pf - pt, pt])

    h = 1e-4
    best = 0.0
    for d in np.linspace(-4.0, 4.0, 161):
        P, dP = probs(d), (probs(d + h) - probs(d - h)) / (2 * h)
        best = max(best, float((dP * dP / P).sum()))
    return best


def ranking_information(k: int, gm: GroupJudgeModel, samples: int = 400) -> float:
    """The most information one k-wise call carries: the trace of its Fisher information about the k strengths.

    Each paper's diagonal entry is what the call tells about its strength with
    the others known, so the trace is the pairwise floor's ``2 x information
    per verdict``. Every ranking's probability is the Plackett–Luce probability
    averaged over the judge's Gaussian mood (common draws, so finite
    differences are smooth); evaluated with equal papers and with strengths
    that cancel the position effects, the better of the two.
    """
    perms = np.array(list(itertools.permutations(range(k))))
    mood = np.random.default_rng(11).normal(0.0, gm.sd(k), (samples, k))
    b = gm.positions(k)

    def probs(theta: np.ndarray) -> np.ndarray:
        u = (theta + b + mood)[:, perms]  # (samples, rankings, k), best first
        tail = np.logaddexp.accumulate(u[:, :, ::-1], axis=2)[:, :, ::-1]
        return np.exp((u - tail).sum(2)).mean(0)

    best, h = 0.0, 1e-3
    for base in (np.zeros(k), -b):
        P = probs(base)
        trace = 0.0
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            dP = (probs(base + e) - probs(base - e)) / (2 * h)
            trace += float((dP * dP / np.maximum(P, 1e-300)).sum())
        best = max(best, trace)
    return best


def information_bound(strengths: np.ndarray, args, max_info: float) -> float:
    """Approximate fewest pairwise comparisons for an expected Kendall tau of ``args.target``.

    An idealized tournament: every verdict carries ``max_info`` (each match is
    between papers the judge finds exactly even), opponents are known exactly,
    and the information is spread over the papers in the best possible way for
    tau (found by L-BFGS; papers in crowded parts of the scale get more). Each
    estimate is then Gaussian with variance ``1 / (info + prior)``, and a pair
    is misordered with probability ``Phi(-|d| / sqrt(v_i + v_j))``. Real
    verdicts carry less and opponents are uncertain, so real schedules need
    more: treat this as a floor, not a target. For k-wise calls pass half the
    call's information trace: the answer is then in calls.
    """
    from scipy.optimize import brentq, minimize
    from scipy.special import ndtr

    n = len(strengths)
    iu = np.triu_indices(n, 1)
    d = np.abs(strengths[:, None] - strengths[None, :])[iu]
    prior = 1.0 / args.prior_sd**2

    def misordered(u: np.ndarray, budget: float) -> tuple[float, np.ndarray]:
        a = np.exp(u - u.max())
        a /= a.sum()
        v = 1.0 / (budget * a + prior)
        s2 = (v[:, None] + v[None, :])[iu]
        s = np.sqrt(s2)
        x = d / s
        g = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * d / (2 * s2 * s)
        G = np.zeros((n, n))
        G[iu] = g
        grad_info = -(G.sum(0) + G.sum(1)) * v * v
        return float(ndtr(-x).sum()), budget * a * (grad_info - float(grad_info @ a))

    def tau_gap(comparisons: float) -> float:
        budget = 2.0 * comparisons * max_info
        best = minimize(misordered, np.zeros(n), args=(budget,), jac=True, method="L-BFGS-B")
        return 1.0 - 2.0 * best.fun / len(d) - args.target

    return brentq(tau_gap, 0.2, 1000.0 * n, xtol=0.01 * n)


def misorder_rates(args, gm: GroupJudgeModel, ks: list[int], calls: int = 4000) -> dict[int, float]:
    """Share of random pairs each judge puts in the wrong order (a pairwise tie counts half)."""
    rng = np.random.default_rng(9)
    s = rng.normal(0.0, args.spread, 600)
    pj = Judge(s, args.noise, args.tie_rate, args.position_bias, rng)
    wrong = 0.0
    for _ in range(calls):
        i, j = rng.choice(len(s), 2, replace=False)
        out = pj(int(i), int(j))
        wrong += 0.5 if out == "tie" else float((out == "first") != (s[i] > s[j]))
    rates = {2: wrong / calls}
    for k in ks:
        gj = GroupJudge(s, gm, rng)
        bad = total = 0
        for _ in range(calls // k):
            shown = tuple(int(x) for x in rng.choice(len(s), k, replace=False))
            ranked = gj.rank(shown)
            for a in range(k):
                for b in range(a + 1, k):
                    bad += s[ranked[a]] < s[ranked[b]]
                    total += 1
        rates[k] = bad / total
    return rates


def mean_or_none(vals: list) -> float | None:
    return None if any(v is None for v in vals) else float(np.mean(vals))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 500])
    ap.add_argument("--ks", type=int, nargs="+", default=[3, 4, 5, 6], help="group sizes of the k-wise rows")
    ap.add_argument("--seeds", type=int, default=2, help="tournaments per size and strategy (mean reported)")
    ap.add_argument("--quick", action="store_true", help="N = 100, one seed, k = 4 and 6")
    ap.add_argument("--data", type=Path, default=SHARED, help="shared data folder with days/*.jsonl")
    ap.add_argument("--target", type=float, default=0.9, help="Kendall tau to reach")
    ap.add_argument("--top-target", type=float, default=0.9, help=f"share of the true top {TOP} to recover")
    ap.add_argument("--spread", type=float, default=2.5, help="sd of the true strengths (log-odds)")
    ap.add_argument("--noise", type=float, default=0.5, help="sd of the pairwise judge's per-call noise (log-odds)")
    ap.add_argument("--tie-rate", type=float, default=0.1, help="tie probability between equal papers")
    ap.add_argument("--position-bias", type=float, default=0.4, help="log-odds bonus of the first paper")
    ap.add_argument("--kwise-noise", type=float, default=0.7, help="sd of the k-wise judge's noise per paper")
    ap.add_argument("--noise-growth", type=float, default=0.1, help="extra k-wise noise per paper beyond two")
    ap.add_argument("--first-bias", type=float, default=0.4, help="k-wise bonus of the first position")
    ap.add_argument("--last-bias", type=float, default=0.2, help="k-wise bonus of the last position (k >= 3)")
    ap.add_argument("--prior-sd", type=float, default=2.5)
    ap.add_argument("--cap-per-paper", type=int, default=200, help="give up after this many calls per paper")
    ap.add_argument("--no-sensitivity", action="store_true", help="skip the noisier k-wise judge's rows")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.ks = [100], 1, [4, 6]

    tc = TournamentConfig()
    papers = real_papers(args.data)
    prices = measure_prices(papers, args.ks, tc)
    gm = GroupJudgeModel(args.kwise_noise, args.noise_growth, args.first_bias, args.last_bias)
    noisy = GroupJudgeModel(2 * args.kwise_noise, 2 * args.noise_growth, 2 * args.first_bias, 2 * args.last_bias)
    print(
        f"papers: {len(papers)} real abstracts from {args.data / 'days'}; tokens by {prices.tokenizer}: "
        f"a paper's block {np.mean(prices.paper):.0f} tokens on average (median {np.median(prices.paper):.0f}); "
        "fixed part per call (instructions + answer) "
        + ", ".join(f"k={k} {v:.0f}" for k, v in prices.overhead.items())
        + f"; additive estimate within {prices.worst_error:.0f} tokens of the exact count"
    )
    print(
        f"pairwise judge: strengths sd {args.spread}, noise sd {args.noise}, tie rate {args.tie_rate}, "
        f"first-position bias {args.position_bias:+} log-odds"
    )
    print(f"k-wise judge: {gm.describe()}")
    print(f"noisier k-wise judge (sensitivity rows): {noisy.describe()}")
    rates, noisy_rates = misorder_rates(args, gm, args.ks), misorder_rates(args, noisy, args.ks)
    print(
        "random pairs put in the wrong order: pairwise "
        f"{rates[2]:.1%}; k-wise "
        + ", ".join(f"k={k} {rates[k]:.1%}" for k in args.ks)
        + "; noisier k-wise "
        + ", ".join(f"k={k} {noisy_rates[k]:.1%}" for k in args.ks)
    )
    pair_info = verdict_information(args)
    infos = {k: ranking_information(k, gm) for k in args.ks}
    print(
        f"information per call (trace, the floor's unit): pairwise {2 * pair_info:.3f}; "
        + ", ".join(f"k={k} {v:.3f}" for k, v in infos.items())
        + " (a perfect logistic k-wise ranking: "
        + ", ".join(f"k={k} {sum((m - 1) / m for m in range(2, k + 1)):.2f}" for k in args.ks)
        + ")"
    )
    header = (
        f"{'N':>4} | {'schedule':<19} | {'calls to tau':>12} | {'tokens to tau':>13} | {'/random':>7} | "
        f"{'floor/random':>12} | {'calls to P@10':>13} | {'tokens to P@10':>14} | {'/random':>7} | "
        f"{'SSR':>5} | position effects (fitted) | time"
    )
    print(header)
    print("-" * len(header))
    schedules = [("random-pairwise", None), ("paperradar-pairwise", None)] + [(f"k={k}", gm) for k in args.ks]
    if not args.no_sensitivity:
        schedules += [(f"k={k}", noisy) for k in args.ks]
    ratios: dict[tuple[str, bool], list[float | None]] = {}
    top_ratios: dict[tuple[str, bool], list[float | None]] = {}
    for n in args.sizes:
        seeds = [1000 * n + s for s in range(args.seeds)]
        # The floor scales as 1 / information per call: one optimisation per hidden strengths.
        unit_floor = float(np.mean([information_bound(hidden_strengths(n, s, args), args, 1.0) for s in seeds]))
        mean_paper = float(
            np.mean(
                [
                    prices.paper[np.random.default_rng(s + 3).choice(len(prices.paper), n, replace=False)].mean()
                    for s in seeds
                ]
            )
        )
        base_tau = base_top = None
        for name, model in schedules:
            results = [simulate(name, n, s, args, prices, model) for s in seeds]
            tau_tokens = mean_or_none([r.tau_tokens for r in results])
            top_tokens = mean_or_none([r.top_tokens for r in results])
            k = 2 if model is None else int(name.split("=")[1])
            if name == "random-pairwise":
                base_tau, base_top = tau_tokens, top_tokens
            info = 2 * pair_info if k == 2 else (infos[k] if model is gm else ranking_information(k, model))
            floor_tokens = unit_floor / (info / 2) * (prices.overhead[k] + k * mean_paper)
            label = name + (" noisier" if model is noisy else "")
            r_tau = tau_tokens / base_tau if tau_tokens and base_tau else None
            r_top = top_tokens / base_top if top_tokens and base_top else None
            ratios.setdefault((name, model is noisy), []).append(r_tau)
            top_ratios.setdefault((name, model is noisy), []).append(r_top)
            calls = mean_or_none([r.tau_calls for r in results])
            top_calls = mean_or_none([r.top_calls for r in results])
            ssr = mean_or_none([r.ssr for r in results])
            pos = np.mean([r.positions for r in results], axis=0) if results[0].positions else []
            print(
                f"{n:>4} | {label:<19} | {'>cap' if calls is None else f'{calls:,.0f}':>12} | "
                f"{'>cap' if tau_tokens is None else f'{tau_tokens:,.0f}':>13} | "
                f"{'-' if r_tau is None else f'{r_tau:.2f}':>7} | "
                f"{(f'{floor_tokens / base_tau:.2f}' if base_tau else '-'):>12} | "
                f"{'>cap' if top_calls is None else f'{top_calls:,.0f}':>13} | "
                f"{'>cap' if top_tokens is None else f'{top_tokens:,.0f}':>14} | "
                f"{'-' if r_top is None else f'{r_top:.2f}':>7} | "
                f"{'-' if ssr is None else f'{ssr:.3f}':>5} | "
                f"{' '.join(f'{x:+.2f}' for x in pos) or '-':<25} | {sum(r.seconds for r in results):4.0f}s",
                flush=True,
            )
    print(
        "\ncalls/tokens: mean over seeds until the fitted order first reaches the target; /random: tokens over "
        "random-pairwise's on the same hidden strengths; floor: the fewest tokens any schedule could need on that "
        f"judge (tau target); P@10: {args.top_target:.0%} of the true top {TOP} in the fitted top {TOP}; position "
        "effects: the fitted log-strength bonus of each shown position relative to the last."
    )

    def worst(values: list[float | None]) -> float:
        return math.inf if any(v is None for v in values) else max(values)

    kwise = [name for name, model in schedules if model is gm]
    best = min(kwise, key=lambda name: worst(ratios[(name, False)]))
    best_top = min(kwise, key=lambda name: worst(top_ratios[(name, False)]))
    w, wt = worst(ratios[(best, False)]), worst(top_ratios[(best_top, False)])
    sizes = ", ".join(str(n) for n in args.sizes)
    print(
        f"goal tokens to tau {args.target} <= 0.40 of random pairwise at every N ({sizes}): "
        f"{'met' if w <= 0.40 else 'NOT met'} ({best}: worst {w:.2f}); with the noisier judge "
        f"{best}: worst {worst(ratios[(best, True)]) if not args.no_sensitivity else float('nan'):.2f}"
    )
    print(
        f"goal tokens to top-{TOP} precision {args.top_target} <= 0.25 of random pairwise: "
        f"{'met' if wt <= 0.25 else 'NOT met'} ({best_top}: worst {wt:.2f})"
    )
    print(f"tokens to tau {args.target}: best/random-pairwise {w:.2f} ({best.replace('=', '=')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
