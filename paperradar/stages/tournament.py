"""The pairwise tournament: adaptive LLM comparisons on a pool, and the daily stage.

A *pool* (:mod:`paperradar.stages.pools`) is the set of papers ranked together: a
category's papers of a day or week, or the user's shortlist (the judge's picks). Matches are stored once per
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

import numpy as np

from ..core.config import Config, TournamentConfig
from ..core.context import Stage
from ..core.hookspecs import hookimpl
from ..core.llm import LLM, BudgetExceeded, LLMError, run_concurrently
from ..core.store import Store, utcnow
from .assess import assess_papers
from .enabled import tournament_wanted
from .group_tournament import run_group_tournament, stage_personal
from .match import STAGE, Verdict, compare
from .pairing import select_pairs
from .pools import Leaderboard, Period, Pool, State, TournamentReport, leaderboard, make_pool, top_rows
from .ratings import scale_separation_reliability

log = logging.getLogger("paperradar.stages.tournament")


def save_verdict(store: Store, v: Verdict, pool: str) -> bool:
    """Store a verdict; False when that ordered pair already has one from this model."""
    return store.matches.add(
        first_id=v.first_id,
        second_id=v.second_id,
        model=v.model,
        outcome=v.outcome,
        reason=v.reason,
        pool=pool,
        call_id=v.call_id,
        created_at=utcnow(),
    )


# -- running a tournament ---------------------------------------------------------------------


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
    assessments = store.assessments.for_papers(pool.ids, llm.model_for("assess"))
    by_id = {p.arxiv_id: p for p in pool.papers}
    model = llm.model_for(STAGE)
    planned = store.matches.planned(pool.name, model)
    rounds = sorted({p.round for p in planned})
    new_slots = tc.budget if budget is None else budget
    if target is not None:
        new_slots = max(target - len(planned), 0)
    report.existing = len(store.matches.among(pool.ids))
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
    judged = {(m.first_id, m.second_id) for m in store.matches.among(pool.ids, model)}
    unfinished = [
        (p.first_id, p.second_id)
        for p in planned
        if p.first_id in by_id and p.second_id in by_id and (p.first_id, p.second_id) not in judged
    ]
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
        store.matches.save_plan(pool.name, model, next_round, pairs, created_at=utcnow())
        next_round += 1
        new_slots -= len(pairs)
        play(pairs)
    if not report.stopped:
        report.stopped = "comparison target reached" if target is not None else "comparison budget spent"
    fit = State.load(store, pool.ids).fit(tc)
    report.ssr = scale_separation_reliability(fit.theta, fit.se)
    return report


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
            report = run_group_tournament(ctx.store, llm, tc, pool, target=tc.budget, progress=advance)
        else:
            report = run_tournament(ctx.store, llm, tc, pool, target=tc.budget, assess=False, progress=advance)
    report.assess = assessed.detail()
    return report.detail() | {"personal": stage_personal(ctx, pool, llm)}


def add_leaderboard(store: Store, digest, tc: TournamentConfig | None = None) -> None:
    """Add the day's shortlist leaderboard (its first ``leaderboard_size`` rows) and each paper's assessment."""
    tc = tc or TournamentConfig()
    ids = [e.paper.arxiv_id for e in digest.entries]
    found = store.assessments.for_papers(ids)
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


@hookimpl
def register_stages(config):
    return [Stage("tournament", stage_tournament, sections=("assessment", "leaderboard", "personal_leaderboard"))]


@hookimpl
def register_digest_enrichers(config):
    return [functools.partial(add_leaderboard, tc=config.tournament)]
