"""Tournaments: pools of papers, adaptive LLM comparisons, and leaderboards.

A *pool* is the set of papers ranked together: a category's papers of a day or
week, or the user's shortlist (the judge's picks). Matches are stored once per
ordered pair and model and belong to no pool in particular, so a weekly
leaderboard reuses every daily match between its papers, and a paper added to
a pool only ever gets new matches: nothing is judged twice in the same order.

Each round fits Bradley–Terry ratings (:mod:`paperradar.stages.ratings`) to all
matches in the pool, asks :func:`paperradar.stages.pairing.select_pairs` for the most
informative comparisons, and judges them in parallel
(:func:`paperradar.stages.match.compare`), until the comparison budget is spent, the
LLM budget stops the run, or the scale reaches the target reliability (SSR).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..core.config import Config, TournamentConfig
from ..core.context import Stage
from ..core.hookspecs import hookimpl
from ..core.llm import LLM, BudgetExceeded, LLMError, run_concurrently
from ..core.models import Paper
from ..core.store import Store, utcnow
from .assess import Assessment, assess_papers, get_assessments
from .enabled import tournament_wanted
from .group_match import Question
from .match import STAGE, Verdict, compare
from .pairing import select_pairs
from .ranking_store import RankingRow, pool_rankings
from .ratings import BTFit, Rankings, Tally, fit_bt, scale_separation_reliability, spearman

log = logging.getLogger("paperradar.stages.tournament")

Period = Literal["day", "week"]


@dataclass
class Pool:
    name: str
    papers: list[Paper]

    @property
    def ids(self) -> list[str]:
        return [p.arxiv_id for p in self.papers]


def period_days(day: dt.date, period: Period) -> list[dt.date]:
    span = 7 if period == "week" else 1
    return [day - dt.timedelta(days=i) for i in range(span)]


def selected_ids(store: Store, days: Sequence[dt.date]) -> list[str]:
    """The judge's picks of those days, or the prefilter shortlist where the judge did not run."""
    out: list[str] = []
    for d in days:
        rows = store.conn.execute(
            "SELECT arxiv_id FROM judgments WHERE day = ? AND selected = 1 ORDER BY score DESC", (d.isoformat(),)
        ).fetchall()
        if not rows:
            rows = store.conn.execute(
                "SELECT arxiv_id FROM candidates WHERE day = ? AND shortlisted = 1 ORDER BY rank", (d.isoformat(),)
            ).fetchall()
        out += [r[0] for r in rows if r[0] not in out]
    return out


def make_pool(store: Store, day: dt.date, *, period: Period = "day", category: str | None = None) -> Pool:
    """A category's papers announced in the period, or (no category) the period's shortlist."""
    days = period_days(day, period)
    name = f"{category or 'shortlist'}/{period}/{day.isoformat()}"
    if category is None:
        papers = [p for i in selected_ids(store, days) if (p := store.get_paper(i)) is not None]
        return Pool(name, papers)
    seen: dict[str, Paper] = {}
    for d in sorted(days):
        for p in store.papers_for_day(d):
            if category in p.categories and p.arxiv_id not in seen:
                seen[p.arxiv_id] = p
    return Pool(name, list(seen.values()))


# -- matches in the store ---------------------------------------------------------------------


@dataclass
class MatchRow:
    id: int
    first_id: str
    second_id: str
    model: str
    outcome: str
    reason: str
    created_at: str


def pool_matches(store: Store, ids: Sequence[str], model: str | None = None) -> list[MatchRow]:
    """Every stored match between two papers of ``ids`` (of ``model`` only, when given)."""
    if len(ids) < 2:
        return []
    wanted = set(ids)
    rows: dict[int, MatchRow] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        extra, params = ("AND model = ?", [model]) if model else ("", [])
        for r in store.conn.execute(
            "SELECT id, first_id, second_id, model, outcome, reason, created_at FROM matches "
            f"WHERE first_id IN ({marks}) {extra} ORDER BY id",
            (*chunk, *params),
        ):
            if r[2] in wanted:
                rows[r[0]] = MatchRow(*r)
    return [rows[k] for k in sorted(rows)]


def save_verdict(store: Store, v: Verdict, pool: str) -> bool:
    """Store a verdict; False when that ordered pair already has one from this model."""
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT OR IGNORE INTO matches (first_id, second_id, model, outcome, reason, pool, call_id, created_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (v.first_id, v.second_id, v.model, v.outcome, v.reason, pool, v.call_id, utcnow()),
        )
        return cur.rowcount == 1


@dataclass
class State:
    """A pool's verdicts for one question as arrays for the rating fit and the scheduler.

    The impact question combines the pairwise matches (Bradley–Terry, with
    ties) and the k-wise calls (Plackett–Luce); the personal question has
    k-wise calls only, for one reader (``profile_key``). Each ranking also
    counts as a win and a loss for every pair it orders.
    """

    ids: list[str]
    tally: Tally
    judged: np.ndarray
    matches: list[MatchRow]
    rankings: Rankings = field(default_factory=Rankings)
    ranking_rows: list[RankingRow] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        store: Store,
        ids: Sequence[str],
        model: str | None = None,
        *,
        question: Question = "impact",
        profile_key: str = "",
    ) -> State:
        ids = list(ids)
        index = {a: i for i, a in enumerate(ids)}
        tally = Tally(len(ids))
        judged = np.zeros((len(ids), len(ids)), dtype=bool)
        matches = pool_matches(store, ids, model) if question == "impact" else []
        for m in matches:
            f, s = index[m.first_id], index[m.second_id]
            tally.add(f, s, m.outcome)
            judged[f, s] = True
        rankings = Rankings()
        rows = pool_rankings(store, ids, question, profile_key, model)
        for r in rows:
            order = [index[a] for a in r.ranked]
            rankings.add([index[a] for a in r.shown], order)
            for i, w in enumerate(order):
                for loser in order[i + 1 :]:
                    tally.record(w, loser)
        return cls(ids, tally, judged, matches, rankings, rows)

    def fit(self, tc: TournamentConfig, previous: BTFit | None = None) -> BTFit:
        return fit_bt(
            self.tally.A,
            self.tally.B,
            rankings=self.rankings,
            prior_sd=tc.prior_sd,
            init=previous.theta if previous is not None else None,
            init_bias=previous.bias if previous is not None else 0.0,
        )


# -- running a tournament ---------------------------------------------------------------------


@dataclass
class TournamentReport:
    pool: str
    papers: int
    comparisons: int = 0
    failed: int = 0
    existing: int = 0
    ssr: float = 0.0
    stopped: str = ""
    # Set when the run's budget (or its circuit breaker) stopped the calls before the target.
    budget_stop: str = ""
    target: int | None = None
    assess: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict:
        return {
            "pool": self.pool,
            "papers": self.papers,
            "comparisons": self.comparisons,
            "failed": self.failed,
            "existing_matches": self.existing,
            "ssr": round(self.ssr, 3),
            "stopped": self.stopped,
            "assess": self.assess,
        } | ({"budget_stop": self.budget_stop, "target": self.target} if self.budget_stop else {})


def planned_pairs(store: Store, pool: str, model: str) -> list[tuple[int, str, str]]:
    """The pool's scheduled comparisons for ``model`` as (round, first, second), in schedule order."""
    return [
        (r[0], r[1], r[2])
        for r in store.conn.execute(
            "SELECT round, first_id, second_id FROM tournament_plans WHERE pool = ? AND model = ? ORDER BY round, slot",
            (pool, model),
        )
    ]


def save_plan(store: Store, pool: str, model: str, round_no: int, pairs: Sequence[tuple[str, str]]) -> None:
    """Record a round before any of it is paid for, so a crash resumes exactly this round."""
    with store.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO tournament_plans (pool, model, round, slot, first_id, second_id, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [(pool, model, round_no, i, a, b, utcnow()) for i, (a, b) in enumerate(pairs)],
        )


def run_tournament(
    store: Store,
    llm: LLM,
    tc: TournamentConfig,
    pool: Pool,
    *,
    budget: int | None = None,
    target: int | None = None,
    target_ssr: float | None = None,
    assess: bool = True,
    progress: Callable[[int], None] | None = None,
    seed: int = 0,
) -> TournamentReport:
    """Spend comparisons on the pool, most informative first.

    ``target``: the pool's total number of scheduled comparisons (a day's
    tournament): a rerun continues toward it and buys nothing already done.
    Otherwise ``budget`` (default ``[tournament] budget``) new comparisons are
    scheduled on top of what the pool already has.

    Rounds are written to ``tournament_plans`` before they are judged and each
    round is chosen from the stored matches alone (a fresh fit, a seed per
    round), so a run killed anywhere resumes its unfinished round and then
    schedules exactly what an uninterrupted run would have.
    """
    target_ssr = tc.target_ssr if target_ssr is None else target_ssr
    report = TournamentReport(pool=pool.name, papers=len(pool.papers), target=target)
    if len(pool.papers) < 2:
        report.stopped = "fewer than two papers"
        return report
    if assess:
        try:
            report.assess = assess_papers(store, llm, pool.papers, tc).detail()
        except BudgetExceeded as exc:
            report.stopped = report.budget_stop = str(exc)
            return report
    assessments = get_assessments(store, pool.ids, llm.model_for("assess"))
    by_id = {p.arxiv_id: p for p in pool.papers}
    model = llm.model_for(STAGE)
    planned = planned_pairs(store, pool.name, model)
    rounds = sorted({r for r, _, _ in planned})
    new_slots = tc.budget if budget is None else budget
    if target is not None:
        new_slots = max(target - len(planned), 0)
    report.existing = len(pool_matches(store, pool.ids))
    batch = tc.batch_size or 2 * llm.config.concurrency

    def play(pairs: Sequence[tuple[str, str]]) -> None:
        def one(pair: tuple[str, str]) -> Verdict:
            a, b = pair
            return compare(llm, by_id[a], by_id[b], tc, assessments.get(a), assessments.get(b))

        def done(pair: tuple[str, str], v: Verdict) -> None:
            save_verdict(store, v, pool.name)
            report.comparisons += 1

        def failed(pair: tuple[str, str], exc: LLMError) -> None:
            report.failed += 1
            log.warning("Comparison %s vs %s failed: %s", pair[0], pair[1], exc)

        out_of_budget = run_concurrently(llm, pairs, one, on_result=done, on_error=failed, progress=progress)
        if out_of_budget:
            report.stopped = report.budget_stop = out_of_budget

    # Resume: rounds scheduled earlier whose comparisons have no verdict yet.
    judged = {(m.first_id, m.second_id) for m in pool_matches(store, pool.ids, model)}
    unfinished = [(a, b) for _, a, b in planned if a in by_id and b in by_id and (a, b) not in judged]
    if target is None:
        unfinished = unfinished[:new_slots]
        new_slots -= len(unfinished)
    if unfinished:
        play(unfinished)
    next_round = rounds[-1] + 1 if rounds else 0
    while new_slots > 0 and not report.stopped:
        state = State.load(store, pool.ids)
        fit = state.fit(tc)
        report.ssr = scale_separation_reliability(fit.theta, fit.se)
        if report.ssr >= target_ssr and state.tally.matches.min() > 0:
            report.stopped = f"reliability target reached (SSR {report.ssr:.2f} >= {target_ssr})"
            break
        plan = select_pairs(
            fit,
            state.judged,
            min(batch, new_slots),
            first_counts=state.tally.first_counts,
            both_orders=tc.both_orders,
            rng=np.random.default_rng([seed, next_round]),
        )
        if not plan:
            report.stopped = "every pair has been judged"
            break
        pairs = [(state.ids[pp.first], state.ids[pp.second]) for pp in plan]
        save_plan(store, pool.name, model, next_round, pairs)
        next_round += 1
        new_slots -= len(pairs)
        play(pairs)
    if not report.stopped:
        report.stopped = "comparison target reached" if target is not None else "comparison budget spent"
    fit = State.load(store, pool.ids).fit(tc)
    report.ssr = scale_separation_reliability(fit.theta, fit.se)
    return report


# -- leaderboards -----------------------------------------------------------------------------


@dataclass
class Row:
    rank: int
    arxiv_id: str
    title: str
    url: str
    rating: float  # Elo scale
    uncertainty: float  # one standard error, Elo scale
    wins: int
    losses: int
    ties: int
    matches: int
    win_rate: float | None  # ties count half
    overall: int | None  # the assessment's single-item rating
    games: list[dict] = field(default_factory=list)


@dataclass
class Leaderboard:
    pool: str
    rows: list[Row]
    matches: int  # LLM calls: pairwise comparisons plus k-wise rankings
    ssr: float
    coherence: float | None  # Spearman between assessment overall ratings and tournament ratings
    first_position_win_rate: float | None
    position_bias: float  # fitted log-odds advantage of the first position
    position_bias_se: float
    order_consistency: float | None  # pairs judged in both orders that got the same winner
    question: str = "impact"
    profile_key: str = ""
    rankings: int = 0  # of the calls, those that ranked several papers at once
    # Per group size: fitted log-strength bonus of each shown position (last = 0), and the raw share of
    # calls won by the paper shown there.
    position_effects: dict[int, list[float]] = field(default_factory=dict)
    top_rate: dict[int, list[float]] = field(default_factory=dict)
    # Personal boards: Spearman between this board's ratings and the impact board's, over shared papers.
    agreement: float | None = None

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _order_consistency(matches: Sequence[MatchRow]) -> float | None:
    seen: dict[tuple[str, str, str], str] = {}
    agree = total = 0
    for m in matches:
        winner = {"first": m.first_id, "second": m.second_id, "tie": "tie"}[m.outcome]
        other = seen.get((m.second_id, m.first_id, m.model))
        if other is not None:
            total += 1
            agree += other == winner
        seen[(m.first_id, m.second_id, m.model)] = winner
    return agree / total if total else None


def _games(state: State, ids: Sequence[str]) -> dict[str, list[dict]]:
    games: dict[str, list[dict]] = {i: [] for i in ids}
    for m in state.matches:
        for me, other, pos in ((m.first_id, m.second_id, "first"), (m.second_id, m.first_id, "second")):
            result = "tie" if m.outcome == "tie" else ("win" if m.outcome == pos else "loss")
            games[me].append(
                {
                    "match_id": m.id,
                    "opponent": other,
                    "result": result,
                    "shown": pos,
                    "reason": m.reason,
                    "model": m.model,
                }
            )
    for r in state.ranking_rows:
        k = len(r.shown)
        for place, me in enumerate(r.ranked):
            shown = f"{r.shown.index(me) + 1} of {k}"
            for other_place, other in enumerate(r.ranked):
                if other != me:
                    games[me].append(
                        {
                            "match_id": f"r{r.id}",
                            "opponent": other,
                            "result": "win" if place < other_place else "loss",
                            "shown": shown,
                            "reason": r.reason,
                            "model": r.model,
                            "place": f"{place + 1} of {k}",
                        }
                    )
    return games


def leaderboard(
    store: Store,
    pool: Pool,
    tc: TournamentConfig | None = None,
    *,
    model: str | None = None,
    assessment_model: str | None = None,
    only_played: bool = True,
    question: Question = "impact",
    profile_key: str = "",
) -> Leaderboard:
    """Rank a pool by its verdicts for ``question``: rows best first, with each paper's games and the reasons."""
    tc = tc or TournamentConfig()
    state = State.load(store, pool.ids, model, question=question, profile_key=profile_key)
    fit = state.fit(tc)
    t = state.tally
    assessments: dict[str, Assessment] = get_assessments(store, pool.ids, assessment_model)
    games = _games(state, pool.ids)
    order = np.argsort(-fit.theta, kind="stable")
    rows: list[Row] = []
    for i in order:
        if only_played and t.matches[i] == 0:
            continue
        p = pool.papers[i]
        n = int(t.matches[i])
        a = assessments.get(p.arxiv_id)
        rows.append(
            Row(
                rank=len(rows) + 1,
                arxiv_id=p.arxiv_id,
                title=p.title,
                url=p.abs_url,
                rating=round(float(fit.elo[i]), 1),
                uncertainty=round(float(fit.elo_se[i]), 1),
                wins=int(t.wins[i]),
                losses=int(t.losses[i]),
                ties=int(t.ties[i]),
                matches=n,
                win_rate=round((t.wins[i] + 0.5 * t.ties[i]) / n, 3) if n else None,
                overall=a.overall if a else None,
                games=games[p.arxiv_id],
            )
        )
    played = t.matches > 0
    pairs = [(r.overall, r.rating) for r in rows if r.overall is not None]
    return Leaderboard(
        pool=pool.name,
        rows=rows,
        matches=len(state.matches) + len(state.ranking_rows),
        ssr=round(scale_separation_reliability(fit.theta[played], fit.se[played]), 3) if played.any() else 0.0,
        coherence=spearman(*zip(*pairs, strict=True)) if len(pairs) >= 3 else None,
        first_position_win_rate=t.first_position_win_rate(),
        position_bias=round(fit.bias, 3),
        position_bias_se=round(fit.bias_se, 3),
        order_consistency=_order_consistency(state.matches),
        question=question,
        profile_key=profile_key,
        rankings=len(state.ranking_rows),
        position_effects={k: [round(x, 3) for x in v] for k, v in fit.positions.items()},
        top_rate={k: [round(x, 3) for x in state.rankings.top_rate(k)] for k in state.rankings.sizes},
    )


def leaderboards(
    store: Store,
    config: Config,
    day: dt.date,
    *,
    period: Period = "day",
    categories: Sequence[str] | None = None,
) -> list[Leaderboard]:
    """The shortlist's leaderboard and one per category (those with matches) for the period."""
    out = []
    for cat in [None, *(categories if categories is not None else config.categories)]:
        board = leaderboard(store, make_pool(store, day, period=period, category=cat), config.tournament)
        if board.rows:
            out.append(board)
    return out


# -- pipeline, digest ---------------------------------------------------------------------------


def stage_tournament(ctx) -> dict:
    """Pipeline stage: assess the day's picks and spend the comparison budget on them."""
    wanted, why = tournament_wanted(ctx.config)
    if not wanted:
        return {"skipped": why}
    pool = make_pool(ctx.store, ctx.day)
    llm = LLM.from_config(ctx.config, ctx.store, run_id=ctx.run_id, day=ctx.day.isoformat(), budget=ctx.budget)
    tc = ctx.config.tournament
    with ctx.reporter.task(f"Assessing {len(pool.papers)} papers", total=len(pool.papers)) as advance:
        assessed = assess_papers(ctx.store, llm, pool.papers, tc, progress=advance)
    with ctx.reporter.task(f"Tournament of {len(pool.papers)} papers", total=tc.budget) as advance:
        if tc.group_size > 2:
            from .group_tournament import run_group_tournament

            report = run_group_tournament(ctx.store, llm, tc, pool, target=tc.budget, progress=advance)
        else:
            report = run_tournament(ctx.store, llm, tc, pool, target=tc.budget, assess=False, progress=advance)
    report.assess = assessed.detail()
    from .group_tournament import stage_personal

    return report.detail() | {"personal": stage_personal(ctx, pool, llm)}


def add_leaderboard(store: Store, digest, tc: TournamentConfig | None = None) -> None:
    """Add the day's shortlist leaderboard (its first ``leaderboard_size`` rows) and each paper's assessment."""
    tc = tc or TournamentConfig()
    ids = [e.paper.arxiv_id for e in digest.entries]
    found = get_assessments(store, ids)
    for e in digest.entries:
        a = found.get(e.paper.arxiv_id)
        if a is not None and e.assessment is None:
            e.assessment = a.model_dump(exclude={"call_id"})
    board = leaderboard(store, make_pool(store, digest.day), tc)
    if board.rows:
        digest.sections["leaderboard"] = [top_rows(board.as_dict(), tc.leaderboard_size)]
    digest.notes += left_out_notes(store.latest_stage_detail(digest.day, "tournament"))


def left_out_notes(detail: dict | None) -> list[str]:
    """Header lines naming what the run's budget (or its circuit breaker) left out of the tournament."""
    if not detail or "skipped" in detail:
        return []
    notes = []
    assess = detail.get("assess") or {}
    if assess.get("stopped"):
        done = sum(assess.get(k, 0) for k in ("assessed", "reused", "failed"))
        missing = detail.get("papers", 0) - done
        notes.append(f"{missing} shortlisted paper{'s' if missing != 1 else ''} not assessed: {assess['stopped']}")
    for label, d in (("Tournament", detail), ("Personal tournament", detail.get("personal") or {})):
        if d.get("budget_stop"):
            done = d.get("existing_matches", 0) + d.get("comparisons", 0)
            of = f" of {d['target']}" if d.get("target") else ""
            notes.append(f"{label} stopped after {done}{of} LLM comparisons: {d['budget_stop']}")
    return notes


def top_rows(board: dict, size: int) -> dict:
    """A leaderboard as the digest shows it: its first ``size`` rows."""
    return board | {"rows": board["rows"][:size]}


@hookimpl
def register_stages(config):
    return [Stage("tournament", stage_tournament, sections=("assessment", "leaderboard", "personal_leaderboard"))]


@hookimpl
def register_digest_enrichers(config):
    return [functools.partial(add_leaderboard, tc=config.tournament)]
