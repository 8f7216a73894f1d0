"""The daily run: ingest → embed → prefilter → (later stages) → digest.

Each stage reads what earlier stages stored and writes its own results in a
transaction, so a run that dies anywhere is finished by the next run of the
same day, and a complete rerun changes nothing and pays for nothing twice.
Stages added by other modules register with :func:`register_stage`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import RunBudget, run_budget
from .cascade import embed_day
from .config import Config
from .digest import Digest, build_digest, write_digest
from .embed import Embedder, embed_papers
from .errors import LLMUnavailable, SourceError
from .models import Candidate, Paper
from .profile import prepare_profile, profile_hash, profile_version
from .runlock import day_lock, fail_abandoned_runs
from .sources.arxiv_source import announced_day_for_submission  # noqa: F401  (kept importable here)
from .sources.base import make_source
from .static_embed import StaticEmbedder
from .store import Store, utcnow
from .works import Works


class Reporter:
    """Progress sink: the CLI shows rich bars, tests and libraries stay quiet."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n=1: None

    def info(self, message: str) -> None:
        pass


@dataclass
class RunContext:
    config: Config
    store: Store
    day: dt.date
    reporter: Reporter = field(default_factory=Reporter)
    embedder: Embedder | None = None
    run_id: int | None = None
    papers: list[Paper] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    digest: Digest | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    refetch: bool = False
    client: object | None = None  # an ArxivClient; tests pass one at a loopback URL
    # One allowance for every LLM request of the run, whichever stage sends it.
    budget: RunBudget = field(default_factory=RunBudget)
    static: StaticEmbedder | None = None

    def get_embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = Embedder(**self.config.embedding.transformer())
        return self.embedder

    def get_static(self) -> StaticEmbedder:
        if self.static is None:
            self.static = StaticEmbedder(self.config.embedding.model)
        return self.static


StageFn = Callable[[RunContext], dict]


def make_client(config: Config):
    """The arXiv client of the configured arXiv source (the CLI asks it for the latest day)."""
    from .sources.arxiv_source import make_arxiv_client
    from .sources.settings import ArxivSourceConfig

    cfg = next((s for s in config.all_sources() if s.type == "arxiv"), None)
    return make_arxiv_client(cfg or ArxivSourceConfig(type="arxiv"))


def ingest_day(ctx: RunContext) -> dict:
    """Read every enabled source for the day, unless it was read already; one record per work."""
    works = Works(ctx.store)
    # Databases from before [[sources]] know a fetched arXiv day by its stored papers.
    legacy = not works.any_fetched(ctx.day) and bool(ctx.store.papers_for_day(ctx.day, include_replacements=True))
    detail: dict = {}
    failed: list[SourceError] = []
    # Semantic Scholar comes last: it looks up citation counts of what the others listed.
    for cfg in sorted(ctx.config.enabled_sources(), key=lambda s: s.type == "semanticscholar"):
        name = cfg.label
        if not ctx.refetch and (works.fetched(name, ctx.day) or (cfg.type == "arxiv" and legacy)):
            detail[name] = {"source": "store"}
            continue
        source = make_source(cfg, ctx.config.categories, arxiv_client=ctx.client if cfg.type == "arxiv" else None)
        try:
            with ctx.reporter.task(f"Fetching {name} for {ctx.day}") as advance:
                known = ctx.store.papers_for_day(ctx.day, include_replacements=True)
                listing = source.fetch(ctx.day, known=works.attach(known))
                advance(1)
        except SourceError as exc:
            # One unreachable source must not cost the day the others; a rerun asks it again.
            failed.append(exc)
            detail[name] = {"error": str(exc)}
            ctx.reporter.info(f"{name}: {exc}")
            continue
        finally:
            source.close()
        result = works.ingest(listing.papers, ctx.day)
        works.record_fetch(name, ctx.day, len(listing.papers))
        detail[name] = {
            "fetched": len(listing.papers),
            "new": result.new,
            "updated": result.updated,
            "merged": result.merged,
        }
        _say_kept_and_cut(ctx, name, result, detail[name])
        if not listing.papers:
            ctx.reporter.info(listing.message)
    if failed and all("error" in d for d in detail.values()):
        raise failed[0]
    detail["source"] = ", ".join(f"{n}: {d.get('fetched', d.get('source', 'failed'))}" for n, d in detail.items())
    return detail


def _say_kept_and_cut(ctx: RunContext, name: str, result, detail: dict) -> None:
    """Stored fields kept over empty incoming ones, and fields cut to the size caps, said out loud."""
    for note in result.kept:
        paper, fields = note.split(": ", 1)
        ctx.reporter.info(f"{name}: kept the stored {fields} of {paper}: the source sent them empty.")
    for note in result.truncated:
        ctx.reporter.info(f"{name}: cut to the size cap: {note}.")
    if result.kept:
        detail["kept_stored_fields"] = result.kept
    if result.truncated:
        detail["truncated"] = result.truncated


def stage_embed(ctx: RunContext) -> dict:
    cfg = ctx.config.embedding
    ctx.papers = ctx.store.papers_for_day(ctx.day, include_replacements=ctx.config.include_replacements)
    with ctx.reporter.task(f"Embedding {len(ctx.papers)} papers", total=len(ctx.papers)) as advance:
        if cfg.backend == "cascade":
            ctx.vectors, computed = embed_day(
                ctx.store,
                ctx.papers,
                ctx.get_embedder(),
                ctx.get_static(),
                ctx.config.profile,
                ctx.config.prefilter,
                cfg.cascade_fraction,
                progress=advance,
            )
        else:
            ctx.vectors, computed = embed_papers(ctx.store, ctx.papers, ctx.get_embedder(), progress=advance)
    return {"papers": len(ctx.papers), "computed": computed, "model": ctx.get_embedder().key, "backend": cfg.backend}


# Other modules add a learned score here: fn(ctx) -> {arxiv_id: (score, Reason)}.
SCORE_BOOSTERS: list[Callable[[RunContext], dict]] = []


def stage_prefilter(ctx: RunContext) -> dict:
    """Rank the day, learn from the judge's earlier verdicts, cut at the target recall, sample below the cut."""
    from .learn import feedback_labels
    from .plan import plan_day, read_history

    config = ctx.config
    prepared = prepare_profile(config.profile, ctx.get_embedder(), ctx.store)
    for missing in prepared.missing_seeds:
        ctx.reporter.info(
            f"Seed paper {missing} is not in the database: ingest its day "
            "or import it with `paperradar library import`."
        )
    extra: dict = {}
    for boost in SCORE_BOOSTERS:
        extra.update(boost(ctx) or {})
    version = profile_version(config.profile)
    history = read_history(
        ctx.store,
        ctx.day,
        config.embedding.key,
        version,
        config.prefilter,
        today=ctx.papers,
        feedback=feedback_labels(ctx.store) if config.learning.enabled else None,
    )
    plan = plan_day(
        ctx.papers,
        ctx.vectors,
        prepared,
        config.prefilter,
        day=ctx.day.isoformat(),
        salt=version,
        history=history.outcomes,
        ranker=history.ranker,
        extra=extra,
    )
    ctx.store.save_candidates(
        ctx.day,
        profile_hash(config.profile, config.embedding.key),
        plan.ranked,
        plan.shortlist,
        explored=plan.explored,
        profile_version=version,
    )
    ctx.candidates = [c for c in plan.ranked if not c.excluded][: plan.shortlist]
    summary = history.summary
    return plan.detail() | {
        "profile_version": version,
        "learned_from": summary.describe() if summary else "no verdicts yet",
        "stale_labels": summary.stale if summary else 0,
        "stale_labels_dropped": summary.dropped if summary else 0,
    }


def stage_digest(ctx: RunContext) -> dict:
    ctx.digest = build_digest(ctx.store, ctx.day)
    ctx.paths = write_digest(ctx.digest, ctx.config.output_dir)
    return {k: str(v) for k, v in ctx.paths.items()}


STAGES: list[tuple[str, StageFn]] = [
    ("ingest", ingest_day),
    ("embed", stage_embed),
    ("prefilter", stage_prefilter),
    ("digest", stage_digest),
]


# Where the built-in stages go, whichever of their modules is imported first.
BUILTIN_ORDER = ("ingest", "embed", "prefilter", "judge", "signals", "tournament", "digest", "deliver")


def register_stage(name: str, fn: StageFn, *, before: str = "digest", after: str | None = None) -> None:
    """Insert a stage (judge, assess, ...) before (or after) another; re-registering replaces it."""
    names = [n for n, _ in STAGES]
    if name in names:
        STAGES[names.index(name)] = (name, fn)
        return
    if name in BUILTIN_ORDER:
        later = BUILTIN_ORDER[BUILTIN_ORDER.index(name) + 1 :]
        STAGES.insert(next((i for i, n in enumerate(names) if n in later), len(names)), (name, fn))
        return
    STAGES.insert(names.index(after) + 1 if after else names.index(before), (name, fn))


def run_day(
    config: Config,
    day: dt.date,
    *,
    store: Store | None = None,
    reporter: Reporter | None = None,
    stages: list[str] | None = None,
    refetch: bool = False,
    client=None,
    embedder: Embedder | None = None,
    static: StaticEmbedder | None = None,
    command: str = "run",
    max_cost: float | None = None,
) -> RunContext:
    """Run the pipeline for ``day``; the run and each stage's timing are recorded.

    Holds the day's run lock throughout: a second run of the same day on the
    same database stops with :class:`~paperradar.runlock.RunLocked` instead of
    paying for everything again.
    """
    with day_lock(config.database, day, command):
        own_store = store is None
        store = store or Store(config.database)
        fail_abandoned_runs(store)
        configure_plugins(config)
        ctx = RunContext(
            config=config,
            store=store,
            day=day,
            reporter=reporter or Reporter(),
            refetch=refetch,
            client=client,
            embedder=embedder,
            budget=run_budget(config.llm, max_cost),
            static=static,
        )
        ctx.run_id = store.start_run(day, command)
        try:
            for name, fn in list(STAGES):
                if stages is not None and name not in stages:
                    continue
                started, t0 = utcnow(), time.perf_counter()
                detail = fn(ctx)
                store.record_stage(ctx.run_id, name, started, round(time.perf_counter() - t0, 3), detail or {})
            if ctx.budget.tripped:
                # The digest was still written from what the run got; the run itself failed.
                raise LLMUnavailable(ctx.budget.tripped)
        except BaseException as exc:
            store.finish_run(ctx.run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
            raise
        else:
            store.finish_run(ctx.run_id, "ok")
        finally:
            if own_store:
                store.close()
    return ctx


def configure_plugins(config: Config) -> None:
    """Hand settings to the modules whose digest enrichers run without a config at hand."""
    _trending.configure(config.signals)


# Built-in optional stages, score boosters and digest enrichers register themselves
# on import. They come last so register_stage exists when they call it, and their
# import order is the stage order: judge, signals, tournament before the digest.
from . import citations as _citations  # noqa: E402,F401
from . import judge as _judge  # noqa: E402,F401
from . import learn as _learn  # noqa: E402,F401
from . import signals as _signals  # noqa: E402,F401
from . import tournament as _tournament  # noqa: E402,F401
from . import trending as _trending  # noqa: E402
from .deliver import stage_deliver  # noqa: E402

register_stage("deliver", stage_deliver, after="digest")
