"""The daily run: an ordered list of :class:`~paperradar.context.Stage` objects over one run context.

:func:`default_stages` builds that list from the configuration: the built-in
stages (ingest → embed → prefilter → judge → signals → tournament → digest →
deliver) come from the plugins in :data:`paperradar.plugins.DEFAULT_PLUGINS`,
in that order, then any installed plugin's stages at the place they name.

Each stage reads what earlier stages stored and writes its own results in a
transaction, so a run that dies anywhere is finished by the next run of the
same day, and a complete rerun changes nothing and pays for nothing twice.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable, Sequence

from .budget import run_budget
from .cascade import embed_day
from .config import Config
from .context import Reporter, RunContext, Stage, StageFn
from .digest import Enricher
from .embed import Embedder, embed_papers
from .errors import ConfigError, LLMUnavailable, SourceError
from .hookspecs import hookimpl
from .plugins import collect
from .profile import prepare_profile, profile_hash, profile_version
from .runlock import day_lock, fail_abandoned_runs
from .sources.arxiv_source import announced_day_for_submission  # noqa: F401  (kept importable here)
from .sources.base import make_source
from .static_embed import StaticEmbedder
from .store import Store, utcnow
from .works import Works

__all__ = ["Reporter", "RunContext", "Stage", "StageFn", "default_stages", "digest_enrichers", "run_day"]


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
    for boost in ctx.score_boosters:
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


@hookimpl
def register_stages(config):
    return [
        Stage("ingest", ingest_day, sections=("papers", "locations")),
        Stage("embed", stage_embed),
        Stage("prefilter", stage_prefilter, sections=("entries", "reasons")),
    ]


def order_stages(stages: Sequence[Stage]) -> list[Stage]:
    """Stages without a place keep their order; the others go before/after the stage they name."""
    ordered = [s for s in stages if not (s.before or s.after)]
    for s in stages:
        if not (s.before or s.after):
            continue
        names = [o.name for o in ordered]
        anchor = s.before or s.after
        if anchor not in names:
            raise ConfigError(f"Stage {s.name!r} wants to run next to {anchor!r}, which is not in the pipeline.")
        ordered.insert(names.index(anchor) + (1 if s.after else 0), s)
    names = [s.name for s in ordered]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"Two plugins add a stage named {', '.join(dupes)}; uninstall one of them.")
    return ordered


def default_stages(config: Config) -> list[Stage]:
    """The pipeline for ``config``, in run order."""
    return order_stages(collect("register_stages", config=config))


def digest_enrichers(config: Config) -> list[Enricher]:
    """What every configured plugin adds to a digest, in plugin order (the digest stage, the web app)."""
    return collect("register_digest_enrichers", config=config)


def score_boosters(config: Config) -> list[Callable[[RunContext], dict]]:
    """The prefilter's extra scores, in plugin order (later ones win for the same paper)."""
    return collect("register_score_boosters", config=config)


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
    stage_list: Sequence[Stage] | None = None,
) -> RunContext:
    """Run the pipeline (``stage_list``, default :func:`default_stages`) for ``day``.

    ``stages`` names the stages to run this time; the run and each stage's
    timing are recorded.

    Holds the day's run lock throughout: a second run of the same day on the
    same database stops with :class:`~paperradar.runlock.RunLocked` instead of
    paying for everything again.
    """
    pipeline = list(stage_list) if stage_list is not None else default_stages(config)
    with day_lock(config.database, day, command):
        own_store = store is None
        store = store or Store(config.database)
        fail_abandoned_runs(store)
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
            enrichers=digest_enrichers(config),
            score_boosters=score_boosters(config),
        )
        ctx.run_id = store.start_run(day, command)
        try:
            for stage in pipeline:
                if stages is not None and stage.name not in stages:
                    continue
                started, t0 = utcnow(), time.perf_counter()
                detail = stage.run(ctx)
                store.record_stage(ctx.run_id, stage.name, started, round(time.perf_counter() - t0, 3), detail or {})
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
