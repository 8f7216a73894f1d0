"""k-wise tournaments: each LLM call ranks several papers, for impact or for one reader.

Same life cycle as the pairwise tournament (:mod:`paperradar.stages.tournament`):
each round fits the ratings to every stored verdict of the pool, asks
:func:`paperradar.stages.pairing.select_groups` for the groups with the most expected
information per token, and ranks them in parallel
(:func:`paperradar.stages.group_match.rank_group`). A round is written to the store
before it is paid for and is chosen from stored verdicts alone (a fresh fit, a
seed per round), so a rerun first finishes an interrupted round, then
continues toward the day's target and buys nothing already done.

The *personal* question asks which paper a reader with the configured
profile would rather read first. Its leaderboard sits beside the impact one,
with the rank correlation between the two, and the digest can order the
shortlist by it (``[tournament] order_shortlist_by = "personal"``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import numpy as np

from ..core.config import Config, ProfileConfig, TournamentConfig
from ..core.hookspecs import hookimpl
from ..core.llm import LLM, LLMError, run_concurrently
from ..core.store import Store, utcnow
from .group_match import STAGE, GroupVerdict, Question, overhead_tokens, paper_tokens, profile_key, rank_group
from .pairing import select_groups
from .pools import Leaderboard, Pool, State, TournamentReport, leaderboard, make_pool, top_rows
from .ratings import scale_separation_reliability, spearman

log = logging.getLogger("paperradar.stages.group_tournament")


def run_group_tournament(
    store: Store,
    llm: LLM,
    tc: TournamentConfig,
    pool: Pool,
    *,
    question: Question = "impact",
    profile: ProfileConfig | None = None,
    budget: int | None = None,
    target: int | None = None,
    target_ssr: float | None = None,
    progress: Callable[[int], None] | None = None,
    seed: int = 0,
) -> TournamentReport:
    """Spend k-wise calls (``[tournament] group_size`` papers each) on the pool, most informative per token first.

    ``target``: the pool's total number of scheduled calls for this question
    (a day's tournament); a rerun continues toward it. Otherwise ``budget``
    (default ``[tournament] budget``) new calls on top of what is stored.
    ``question="personal"`` needs ``profile``.
    """
    if question == "personal" and profile is None:
        raise ValueError("the personal question needs the reader's profile")
    target_ssr = tc.target_ssr if target_ssr is None else target_ssr
    report = TournamentReport(pool=f"{pool.name} ({question})", papers=len(pool.papers), target=target)
    if len(pool.papers) < 2:
        report.stopped = "fewer than two papers"
        return report
    k = min(tc.group_size, len(pool.papers))
    model = llm.model_for(STAGE)
    key = profile_key(profile if question == "personal" else None)
    assessments = store.assessments.for_papers(pool.ids, llm.model_for("assess"))
    by_id = {p.arxiv_id: p for p in pool.papers}
    planned = store.rankings.planned(pool.name, question, key, model)
    new_slots = tc.budget if budget is None else budget
    if target is not None:
        new_slots = max(target - len(planned), 0)
    report.existing = len(store.rankings.among(pool.ids, question, key))
    batch = tc.batch_size or 2 * llm.config.concurrency
    costs = np.array([paper_tokens(p, tc, assessments.get(p.arxiv_id)) for p in pool.papers], dtype=float)
    overhead = overhead_tokens(tc, k, profile if question == "personal" else None)

    def play(groups: Sequence[list[str]]) -> None:
        def one(group: list[str]) -> GroupVerdict:
            papers = [by_id[a] for a in group]
            return rank_group(
                llm,
                papers,
                tc,
                [assessments.get(a) for a in group],
                profile=profile if question == "personal" else None,
            )

        def done(group: list[str], v: GroupVerdict) -> None:
            store.rankings.add(
                question=question,
                profile_key=key,
                model=v.model,
                shown=v.shown,
                ranked=v.ranked,
                reason=v.reason,
                pool=pool.name,
                call_id=v.call_id,
                created_at=utcnow(),
            )
            report.comparisons += 1

        def failed(group: list[str], exc: LLMError) -> None:
            report.failed += 1
            log.warning("Ranking %s failed: %s", ", ".join(group), exc)

        out_of_budget = run_concurrently(llm, groups, one, on_result=done, on_error=failed, progress=progress)
        if out_of_budget:
            report.stopped = report.budget_stop = out_of_budget

    # Resume: planned calls without a stored verdict (a crash, or a budget stop last time).
    stored = {tuple(r.shown) for r in store.rankings.among(pool.ids, question, key, model)}
    unfinished = [p.shown for p in planned if all(a in by_id for a in p.shown) and tuple(p.shown) not in stored]
    if target is None:
        unfinished = unfinished[:new_slots]
        new_slots -= len(unfinished)
    if unfinished:
        play(unfinished)
    next_round = planned[-1].round + 1 if planned else 0
    while new_slots > 0 and not report.stopped:
        state = State.load(store, pool.ids, question=question, profile_key=key)
        fit = state.fit(tc)
        report.ssr = scale_separation_reliability(fit.theta, fit.se)
        if report.ssr >= target_ssr and state.tally.matches.min() > 0:
            report.stopped = f"reliability target reached (SSR {report.ssr:.2f} >= {target_ssr})"
            break
        plan = select_groups(
            fit,
            k,
            min(batch, new_slots),
            costs=costs,
            overhead=overhead,
            rng=np.random.default_rng([seed, next_round]),
        )
        groups = [[state.ids[i] for i in g.items] for g in plan]
        # The same papers in the same order would be answered from the cache: shuffle once more.
        rng = np.random.default_rng([seed, next_round, 1])
        for g in groups:
            for _ in range(5):
                if tuple(g) not in stored:
                    break
                rng.shuffle(g)
            stored.add(tuple(g))
        if not groups:
            report.stopped = "no group left to rank"
            break
        store.rankings.save_plan(pool.name, question, key, model, next_round, groups, created_at=utcnow())
        next_round += 1
        new_slots -= len(groups)
        play(groups)
    if not report.stopped:
        report.stopped = "call target reached" if target is not None else "call budget spent"
    fit = State.load(store, pool.ids, question=question, profile_key=key).fit(tc)
    report.ssr = scale_separation_reliability(fit.theta, fit.se)
    return report


# -- the personal leaderboard -------------------------------------------------------------------


def personal_leaderboard(
    store: Store, pool: Pool, tc: TournamentConfig | None = None, *, profile: ProfileConfig | None = None
) -> Leaderboard | None:
    """The pool's personal leaderboard (for ``profile``, or the reader its tournament last ran for), with its
    rank correlation to the impact leaderboard; None when no personal call was made."""
    if profile is not None:
        key = profile_key(profile)
    else:
        named = store.rankings.personal_board(pool.name)
        key = named.profile_key if named else store.rankings.latest_personal_key(pool.ids)
    if key is None:
        return None
    board = leaderboard(store, pool, tc, question="personal", profile_key=key)
    if not board.rows:
        return None
    impact = leaderboard(store, pool, tc)
    board.agreement = agreement(impact, board)
    return board


def agreement(impact: Leaderboard, personal: Leaderboard) -> float | None:
    """Spearman rank correlation of two leaderboards over the papers both rank (None below three)."""
    mine = {r.arxiv_id: r.rating for r in personal.rows}
    shared = [(r.rating, mine[r.arxiv_id]) for r in impact.rows if r.arxiv_id in mine]
    if len(shared) < 3:
        return None
    value = spearman(*zip(*shared, strict=True))
    return None if value is None else round(value, 3)


def stage_personal_board(
    store: Store, llm: LLM, config: Config, pool: Pool, *, calls: int, progress: Callable[[int], None] | None = None
) -> dict:
    """The personal tournament of a pool toward ``calls`` calls, named as the pool's personal board."""
    profile = config.profile
    if calls <= 0:
        return {"skipped": "[tournament] personal_budget = 0"}
    if not (profile.topics or profile.keywords):
        return {"skipped": "the profile has no topics or keywords to ask about"}
    store.rankings.set_personal_board(
        pool.name, profile_key(profile), config.tournament.order_shortlist_by == "personal", updated_at=utcnow()
    )
    report = run_group_tournament(
        store, llm, config.tournament, pool, question="personal", profile=profile, target=calls, progress=progress
    )
    return report.detail()


def stage_personal(ctx, pool: Pool, llm: LLM) -> dict:
    """The daily run's personal tournament on the shortlist: toward ``[tournament] personal_budget`` calls."""
    budget = ctx.config.tournament.personal_budget
    with ctx.reporter.task(f"Personal tournament of {len(pool.papers)} papers", total=budget) as advance:
        return stage_personal_board(ctx.store, llm, ctx.config, pool, calls=budget, progress=advance)


def order_by_personal(digest, board: Leaderboard) -> None:
    """Put the shortlist in the personal leaderboard's order; papers it has not ranked follow as they were."""
    place = {r.arxiv_id: r.rank for r in board.rows}
    ranked = sorted((e for e in digest.entries if e.paper.arxiv_id in place), key=lambda e: place[e.paper.arxiv_id])
    rest = [e for e in digest.entries if e.paper.arxiv_id not in place]
    digest.entries = ranked + rest
    for i, e in enumerate(digest.entries, 1):
        e.rank = i
    digest.ranked_by = f"personal leaderboard ({board.rankings} LLM rankings), then {digest.ranked_by}"


def add_personal_leaderboard(store: Store, digest, tc: TournamentConfig | None = None) -> None:
    """Add the day's personal leaderboard (and, when configured, its order of the shortlist)."""
    tc = tc or TournamentConfig()
    pool = make_pool(store, digest.day)
    board = personal_leaderboard(store, pool, tc)
    if board is None:
        return
    digest.sections["personal_leaderboard"] = [top_rows(board.as_dict(), tc.leaderboard_size)]
    named = store.rankings.personal_board(pool.name)
    if named and named.order_digest:
        order_by_personal(digest, board)


def personal_leaderboards(store: Store, config: Config, day, *, period: str = "day") -> list[Leaderboard]:
    """The shortlist's personal leaderboard for the configured profile, if its tournament ran."""
    pool = make_pool(store, day, period=period)
    board = personal_leaderboard(store, pool, config.tournament, profile=config.profile)
    if board is None:
        board = personal_leaderboard(store, pool, config.tournament)
    return [board] if board is not None else []


@hookimpl
def register_digest_enrichers(config):
    return [functools.partial(add_personal_leaderboard, tc=config.tournament)]
