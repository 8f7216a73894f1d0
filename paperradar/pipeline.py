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
from zoneinfo import ZoneInfo

import numpy as np

from .budget import RunBudget, run_budget
from .cascade import embed_day
from .config import Config
from .digest import Digest, build_digest, write_digest
from .embed import Embedder, embed_papers
from .errors import LLMUnavailable
from .models import Candidate, Paper
from .prefilter import score_papers, shortlist_size
from .profile import prepare_profile, profile_hash
from .runlock import day_lock, fail_abandoned_runs
from .static_embed import StaticEmbedder
from .store import Store, utcnow

NEW_YORK = ZoneInfo("America/New_York")


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


def announced_day_for_submission(submitted: dt.datetime) -> dt.date:
    """The listing date a submission appears under.

    arXiv's cut-off is 14:00 US Eastern on weekdays; what came in before it is
    announced that evening in the listing dated the next weekday.
    """
    et = submitted.astimezone(NEW_YORK) if submitted.tzinfo else submitted.replace(tzinfo=dt.UTC).astimezone(NEW_YORK)
    day = et.date()
    if et.weekday() >= 5 or et.hour >= 14:
        day += dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def make_client(config: Config):
    from .sources.arxiv import ArxivClient

    a = config.arxiv
    ua = "paperradar/0.1 (self-hosted research radar" + (f"; mailto:{a.contact}" if a.contact else "") + ")"
    return ArxivClient(
        rss_base_url=a.rss_base_url, api_base_url=a.api_base_url, delay_seconds=a.delay_seconds, user_agent=ua
    )


def ingest_day(ctx: RunContext) -> dict:
    """Fetch the day's announcements unless they are already stored."""
    stored = ctx.store.papers_for_day(ctx.day, include_replacements=True)
    if stored and not ctx.refetch:
        return {"fetched": 0, "stored": len(stored), "source": "store"}
    client = ctx.client or make_client(ctx.config)
    with ctx.reporter.task(f"Fetching arXiv announcements for {ctx.day}") as advance:
        listing = client.fetch_announcements(ctx.config.categories)
        advance(1)
    if listing.announced == ctx.day and not listing.empty:
        result = ctx.store.upsert_papers(listing.papers, ctx.day)
        return {"fetched": len(listing.papers), "new": result.new, "updated": result.updated, "source": "rss"}
    # Not today's listing: rebuild the day from the export API.
    start = ctx.day - dt.timedelta(days=5)
    papers = []
    with ctx.reporter.task(f"Backfilling {ctx.day} from the arXiv API") as advance:
        for p in client.fetch_range(ctx.config.categories, start, ctx.day):
            advance(1)
            if p.submitted and announced_day_for_submission(p.submitted) == ctx.day:
                papers.append(p.model_copy(update={"announced": ctx.day}))
    result = ctx.store.upsert_papers(papers, ctx.day)
    if not papers:
        ctx.reporter.info(f"arXiv announced nothing for {ctx.day} (weekend or holiday?).")
    return {"fetched": len(papers), "new": result.new, "updated": result.updated, "source": "api"}


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
    prepared = prepare_profile(ctx.config.profile, ctx.get_embedder(), ctx.store)
    for missing in prepared.missing_seeds:
        ctx.reporter.info(
            f"Seed paper {missing} is not in the database: ingest its day "
            "or import it with `paperradar library import`."
        )
    extra: dict = {}
    for boost in SCORE_BOOSTERS:
        extra.update(boost(ctx) or {})
    ranked = score_papers(ctx.papers, ctx.vectors, prepared, ctx.config.prefilter, extra=extra)
    n = shortlist_size(ranked, ctx.config.prefilter)
    ctx.store.save_candidates(ctx.day, profile_hash(ctx.config.profile, ctx.config.embedding.key), ranked, n)
    ctx.candidates = ranked[:n]
    return {"scored": len(ranked), "shortlisted": n, "excluded": sum(c.excluded for c in ranked)}


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
from . import judge as _judge  # noqa: E402,F401
from . import learn as _learn  # noqa: E402,F401
from . import signals as _signals  # noqa: E402,F401
from . import tournament as _tournament  # noqa: E402,F401
from . import trending as _trending  # noqa: E402
from .deliver import stage_deliver  # noqa: E402

register_stage("deliver", stage_deliver, after="digest")
