"""The LLM judge stage: relevance and novelty for the shortlist, never for the whole day.

The prefilter already dropped most of the day, so only its shortlist is sent,
in batches, with the user's criteria and a rubric (``judge_prompt``). Each
paper gets two separate scores (relevance and novelty, 1-10) and a one-line
comment naming the criterion it matches.

Answers are checked paper by paper (``judge_answers``): a paper without a
usable answer is asked again on its own, and one that still has none is
stored as failed with the reason, never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from ..core.config import Config, JudgeConfig, parse_sort
from ..core.context import Stage
from ..core.digest import DigestEntry
from ..core.hookspecs import hookimpl
from ..core.llm import (
    COMPLETION_RESERVE,
    LLM,
    BudgetExceeded,
    LLMError,
    LLMOutputError,
    MissingAPIKey,
    Spend,
    run_concurrently,
)
from ..core.models import Candidate, Paper
from ..core.repositories.judgments import Judgment, Selection
from ..core.store import Store, utcnow
from .costs import affordable_papers, estimate_run
from .enabled import judge_wanted, tournament_wanted
from .explore import estimate_recall
from .judge_answers import JudgeAnswer, JudgeItem, answer_schema, check_answer
from .judge_prompt import build_judge_messages, build_title_messages, criteria_hash
from .plan import outcomes_from

log = logging.getLogger("paperradar.stages.judge")

# -- selection ------------------------------------------------------------------


def combined_score(relevance: int | None, novelty: int | None, weights: dict[str, float]) -> float | None:
    if relevance is None:
        return None
    return round(weights["relevance"] * relevance + weights["novelty"] * (novelty or 0), 4)


# -- the judging ----------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    good: dict[str, tuple[JudgeItem, int]] = field(default_factory=dict)  # id -> (item, call id)
    failed: dict[str, str] = field(default_factory=dict)
    not_judged: list[str] = field(default_factory=list)
    budget: str | None = None
    invented: list[str] = field(default_factory=list)


@dataclass
class JudgeResult:
    day: dt.date
    model: str
    judged: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    title_rejected: int = 0
    not_judged: list[str] = field(default_factory=list)
    invented_ids: list[str] = field(default_factory=list)
    selected: int = 0
    stopped: str | None = None
    spend: Spend = field(default_factory=Spend)

    def detail(self) -> dict:
        return {
            "model": self.model,
            "judged": self.judged,
            "reused": self.reused,
            "failed": len(self.failed),
            "title_rejected": self.title_rejected,
            "not_judged": len(self.not_judged),
            "selected": self.selected,
            "stopped": self.stopped,
            "requests": self.spend.calls,
            "cached": self.spend.cached,
            "tokens": self.spend.tokens,
            "cost_usd": round(self.spend.cost_usd, 6),
        }


def _ask(
    llm: LLM,
    stage: str,
    papers: list[Paper],
    messages_for: Callable[[list[Paper]], list[dict]],
    *,
    with_novelty: bool,
    attempts: int,
    stop: threading.Event,
    criteria: Sequence[str] = (),
) -> BatchOutcome:
    """One batch: ask, keep the usable answers, ask again for the rest only."""
    out = BatchOutcome()
    pending = list(papers)
    errors: dict[str, str] = {}
    for _ in range(attempts):
        if not pending:
            break
        if stop.is_set():
            out.not_judged = [p.arxiv_id for p in pending]
            return out
        ids = [p.arxiv_id for p in pending]
        try:
            res = llm.complete(
                stage,
                messages_for(pending),
                schema=JudgeAnswer,
                json_schema=answer_schema(ids, with_novelty=with_novelty, criteria=criteria),
                schema_name="paper_scores",
            )
        except BudgetExceeded as exc:
            stop.set()
            out.budget = str(exc)
            out.not_judged = ids
            return out
        except LLMOutputError as exc:
            errors.update({i: str(exc) for i in ids})
            continue
        except MissingAPIKey:
            raise
        except LLMError as exc:
            # Retries of the request itself are spent: these papers fail, the others go on.
            errors.update({i: str(exc) for i in ids})
            break
        good, problems, invented = check_answer(ids, res.parsed.papers, with_novelty=with_novelty)
        if invented:
            log.warning("LLM answered for ids not in the batch (discarded): %s", ", ".join(invented))
            out.invented += invented
        if not good:
            # Valid JSON but nothing usable: keep it out of the cache so a retry is a real one.
            llm.mark_unusable(res.call_id, "; ".join(f"{k}: {v}" for k, v in problems.items()))
        out.good.update({k: (v, res.call_id) for k, v in good.items()})
        errors.update(problems)
        pending = [p for p in pending if p.arxiv_id not in out.good]
    out.failed = {p.arxiv_id: errors.get(p.arxiv_id, "not answered") for p in pending}
    return out


def _run_batches(
    llm: LLM,
    stage: str,
    papers: list[Paper],
    size: int,
    messages_for,
    *,
    with_novelty: bool,
    attempts: int,
    on_done: Callable[[BatchOutcome, list[Paper]], None],
    criteria: Sequence[str] = (),
) -> tuple[list[str], str | None]:
    """All batches through the LLM's thread pool; returns (ids not judged, budget message)."""
    batches = [papers[i : i + size] for i in range(0, len(papers), size)]
    # _ask answers for the whole batch (retries, budget, bad answers), so every
    # batch comes back as an outcome; the event stops batches not yet sent.
    stop = threading.Event()
    not_judged: list[str] = []
    budget: list[str] = []

    def ask(batch: list[Paper]) -> BatchOutcome:
        return _ask(
            llm, stage, batch, messages_for, with_novelty=with_novelty, attempts=attempts, stop=stop, criteria=criteria
        )

    def done(batch: list[Paper], outcome: BatchOutcome) -> None:
        on_done(outcome, batch)
        not_judged.extend(outcome.not_judged)
        if outcome.budget and not budget:
            budget.append(outcome.budget)

    def failed(batch: list[Paper], exc: LLMError) -> None:
        raise exc  # _ask turns every LLM error of a batch into its outcome: this is a bug

    run_concurrently(llm, batches, ask, on_result=done, on_error=failed)
    return not_judged, budget[0] if budget else None


def judge_shortlist(
    store: Store,
    config: Config,
    day: dt.date,
    candidates: Sequence[Candidate],
    llm: LLM,
    *,
    progress: Callable[[int], None] | None = None,
) -> JudgeResult:
    """Judge the shortlist; papers already judged with the same model and criteria are kept."""
    jc = config.judge
    model = llm.model_for("judge")
    chash = criteria_hash(config.profile, jc)
    result = JudgeResult(day=day, model=model, spend=llm.spend)
    done = store.judgments.reusable(day, model, chash)
    papers = [c.paper for c in candidates if not c.excluded]
    todo = [p for p in papers if p.arxiv_id not in done]
    result.reused = len(papers) - len(todo)
    advance = progress or (lambda n=1: None)
    advance(result.reused)

    if jc.title_pass and todo:
        title_model = llm.model_for("title")
        passed: list[Paper] = []
        by_id = {p.arxiv_id: p for p in todo}

        def title_done(outcome: BatchOutcome, batch: list[Paper]) -> None:
            rejected = []
            for pid, (item, call_id) in outcome.good.items():
                if item.relevance >= jc.title_min_relevance:
                    passed.append(by_id[pid])
                    continue
                rejected.append(
                    Judgment(
                        day=day.isoformat(),
                        arxiv_id=pid,
                        model=title_model,
                        stage="title",
                        criteria_hash=chash,
                        relevance=item.relevance,
                        comment="rejected by the title-only pass",
                        status="title-rejected",
                        call_id=call_id,
                        created_at=utcnow(),
                    )
                )
                result.title_rejected += 1
                advance(1)
            # A title the pass could not rate still gets its abstract read.
            passed.extend(by_id[pid] for pid in outcome.failed)
            store.judgments.save(rejected)

        def title_messages(ps):
            return build_title_messages(ps, config.profile, rubric=jc.rubric)

        not_judged, budget = _run_batches(
            llm,
            "title",
            todo,
            jc.title_batch_size,
            title_messages,
            with_novelty=False,
            attempts=jc.attempts,
            on_done=title_done,
        )
        if budget:
            result.stopped, result.not_judged = budget, not_judged
            return _finish(store, config, day, result)
        order = {p.arxiv_id: i for i, p in enumerate(todo)}
        todo = sorted(passed, key=lambda p: order[p.arxiv_id])

    def judge_done(outcome: BatchOutcome, batch: list[Paper]) -> None:
        verdict = {"day": day.isoformat(), "model": model, "stage": "judge", "criteria_hash": chash}
        verdicts = [
            Judgment(
                **verdict,
                arxiv_id=pid,
                relevance=item.relevance,
                novelty=item.novelty,
                criterion=item.criterion or None,
                comment=item.comment or None,
                status="ok",
                call_id=call_id,
                created_at=utcnow(),
            )
            for pid, (item, call_id) in outcome.good.items()
        ]
        verdicts += [
            Judgment(**verdict, arxiv_id=pid, status="failed", error=error, created_at=utcnow())
            for pid, error in outcome.failed.items()
        ]
        store.judgments.save(verdicts)
        result.judged += len(outcome.good)
        result.failed.update(outcome.failed)
        result.invented_ids += outcome.invented
        advance(len(outcome.good) + len(outcome.failed))

    def judge_messages(ps):
        return build_judge_messages(ps, config.profile, rubric=jc.rubric, max_abstract_chars=jc.max_abstract_chars)

    not_judged, budget = _run_batches(
        llm,
        "judge",
        todo,
        jc.batch_size,
        judge_messages,
        with_novelty=True,
        attempts=jc.attempts,
        on_done=judge_done,
        criteria=[t.name for t in config.profile.topics],
    )
    result.not_judged, result.stopped = not_judged, budget
    return _finish(store, config, day, result)


def _finish(store: Store, config: Config, day: dt.date, result: JudgeResult) -> JudgeResult:
    result.selected = apply_selection(store, day, config.judge)
    return result


# -- selection and reading back -------------------------------------------------------------


def apply_selection(store: Store, day: dt.date, jc: JudgeConfig) -> int:
    """Compute each judged paper's combined score and whether it is selected; returns the count."""
    weights = parse_sort(jc.sort)

    def decide(j: Judgment) -> Selection:
        ok = j.status == "ok"
        return Selection(
            j.arxiv_id,
            combined_score(j.relevance, j.novelty, weights) if ok else None,
            ok and j.relevance >= jc.min_relevance and j.novelty >= jc.min_novelty,
        )

    return store.judgments.select(day, jc.sort, decide)


# -- pipeline stage, digest and CLI glue ------------------------------------------------------


def stage_judge(ctx) -> dict:
    """Pipeline stage: judge today's shortlist and explored papers (after the prefilter, before the digest).

    Before the first request it reports what the LLM stages will cost, and
    under a run cap it judges only the best-ranked papers that fit, naming
    the rest.
    """
    wanted, why = judge_wanted(ctx.config)
    if not wanted:
        return {"skipped": why}
    # The shortlist and the random sample below the cut, best first: the
    # sample's verdicts measure the shortlist's recall and teach the prefilter.
    candidates = [c for c in ctx.store.candidates_for_day(ctx.day, explored=True) if not c.excluded]
    llm = LLM.from_config(ctx.config, ctx.store, run_id=ctx.run_id, day=ctx.day.isoformat(), budget=ctx.budget)
    model = llm.model_for("judge")
    done = ctx.store.judgments.reusable(ctx.day, model, criteria_hash(ctx.config.profile, ctx.config.judge))
    todo = [c.paper for c in candidates if c.paper.arxiv_id not in done]
    # The whole day's work, cached or not: the same figure on every rerun, so a
    # resumed run writes the same digest as one that was never interrupted.
    estimate = estimate_run(
        ctx.config,
        [c.paper for c in candidates],
        models={s: llm.model_for(s) for s in ("judge", "title", "assess", "match")},
        budget=ctx.budget,
        tournament=tournament_wanted(ctx.config)[0],
    )
    ctx.reporter.info(estimate.describe().capitalize() + ".")
    left_out: list[str] = []
    if ctx.budget.limited:
        reserve = llm.options_for("judge")["max_tokens"] or COMPLETION_RESERVE
        fits = affordable_papers(ctx.config, todo, ctx.budget, model, reserve)
        left_out = [p.arxiv_id for p in todo[fits:]]
        if left_out:
            ctx.reporter.info(
                f"The run's cost cap leaves room to judge {fits} of {len(todo)} papers: the best-ranked are judged, "
                f"{len(left_out)} are left out (named in the digest)."
            )
            candidates = [c for c in candidates if c.paper.arxiv_id not in set(left_out)]
    with ctx.reporter.task(f"Judging {len(candidates)} papers", total=len(candidates)) as advance:
        result = judge_shortlist(ctx.store, ctx.config, ctx.day, candidates, llm, progress=advance)
    if result.stopped:
        ctx.reporter.info(f"{result.stopped} {result.judged} papers judged; {len(result.not_judged)} left for later.")
    if result.failed:
        ctx.reporter.info(f"{len(result.failed)} papers got no usable judgment (see the digest).")
    recall = shortlist_recall(ctx.store, ctx.day, ctx.config.prefilter.history_days)
    if recall.point is not None:
        ctx.reporter.info(recall.describe()[0].upper() + recall.describe()[1:] + ".")
    return result.detail() | {
        "estimate": estimate.as_dict(),
        "left_out_by_cap": left_out + result.not_judged,
        "recall": recall.as_dict(),
    }


def shortlist_recall(store: Store, day: dt.date, history_days: int):
    """The recall estimate over the judged days up to and including ``day``."""
    return estimate_recall(outcomes_from(store.judged_days(day + dt.timedelta(days=1), history_days)))


def add_judgments(store: Store, digest) -> None:
    """Order the digest by the judge's combined score, with the comment; add usage and counts."""
    rows = store.judgments.for_day(digest.day)
    digest.notes += header_notes(store, digest.day)
    usage = store.llm_calls.usage(day=str(digest.day))
    if usage:
        # Sections hold plain data: the outputs render them and the JSON digest and archive store them.
        digest.sections["usage"] = [asdict(u) for u in usage]
    if not rows:
        return
    by_id = {e.paper.arxiv_id: e for e in digest.entries}
    judged_ids = {r.arxiv_id for r in rows}
    entries: list[DigestEntry] = []
    for r in rows:
        entry = by_id.get(r.arxiv_id)
        if entry is None or not (r.selected or r.status == "failed"):
            continue
        source = f"{r.stage} stage, {r.model}" + (f" ({r.backend})" if r.backend else "")
        entry.judgment = {
            k: getattr(r, k)
            for k in ("relevance", "novelty", "criterion", "comment", "status", "error", "score", "model", "stage")
        } | {"source": source}
        entries.append(entry)
    # Shortlisted papers the judge never reached (budget) stay visible, after the judged ones.
    entries += [e for e in digest.entries if e.paper.arxiv_id not in judged_ids]
    for i, e in enumerate(entries, 1):
        e.rank = i
    digest.entries = entries
    ok = [r for r in rows if r.status == "ok"]
    digest.counts.update(
        judged=len(ok),
        selected=sum(1 for r in rows if r.selected),
        failed=sum(1 for r in rows if r.status == "failed"),
    )
    if any(r.status == "title-rejected" for r in rows):
        digest.counts["title_rejected"] = sum(1 for r in rows if r.status == "title-rejected")
    sort = next((r.sort for r in rows if r.sort), "relevance+novelty")
    digest.ranked_by = f"LLM judge ({sort}; {ok[0].model if ok else rows[0].model})"


def header_notes(store: Store, day: dt.date) -> list[str]:
    """The digest's header lines from the day's latest judge run: recall, cost estimate, cap."""
    detail = store.latest_stage_detail(day, "judge")
    if not detail or "skipped" in detail:
        return []
    notes = []
    recall = detail.get("recall") or {}
    if recall.get("point") is not None:
        notes.append(
            f"Estimated recall of today's shortlist {recall['point']:.2f} (90 % interval {recall['low']:.2f}–"
            f"{recall['high']:.2f}, from {recall['explored']} explored papers over {recall['days']} "
            f"day{'s' if recall['days'] != 1 else ''})."
        )
    elif recall:
        notes.append("Recall of the shortlist not estimated yet: no explored paper has been judged.")
    est = detail.get("estimate") or {}
    if est.get("stages"):
        cost = f", ${est['usd']:.4f}" if est.get("usd") is not None else ""
        cap = f" (cap ${est['cap_usd']:.4f})" if est.get("cap_usd") is not None else ""
        notes.append(f"Estimated LLM cost of the day (before any cache): {est['tokens']:,} tokens{cost}{cap}.")
    left = detail.get("left_out_by_cap") or []
    if left:
        shown = ", ".join(left[:20]) + (f" and {len(left) - 20} more" if len(left) > 20 else "")
        notes.append(
            f"Not judged because of the run's cost cap: {len(left)} papers ({shown}); raise the cap to include them."
        )
    return notes


@hookimpl
def register_stages(config):
    return [Stage("judge", stage_judge, sections=("judgment", "usage", "notes"))]


@hookimpl
def register_digest_enrichers(config):
    return [add_judgments]
