"""The daily run: an ordered list of :class:`~paperradar.core.context.Stage` objects over one run context.

:func:`default_stages` builds that list from the configuration: the built-in
stages (ingest → embed → prefilter → judge → signals → tournament → digest →
deliver) come from the plugins in :data:`paperradar.core.plugins.DEFAULT_PLUGINS`,
in that order, then any installed plugin's stages at the place they name.

Each stage reads what earlier stages stored and writes its own results in a
transaction, so a run that dies anywhere is finished by the next run of the
same day, and a complete rerun changes nothing and pays for nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable, Sequence

from .budget import run_budget
from .config import Config
from .context import Reporter, RunContext, Stage, StageFn
from .digest import Enricher
from .embedding import Embedder
from .errors import ConfigError, LLMUnavailable
from .plugins import collect
from .runlock import day_lock, fail_abandoned_runs, profile_scope
from .static_embed import StaticEmbedder
from .store import Store, utcnow

log = logging.getLogger("paperradar.core.pipeline")

__all__ = ["Reporter", "RunContext", "Stage", "StageFn", "default_stages", "digest_enrichers", "run_day"]


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
    same database stops with :class:`~paperradar.core.runlock.RunLocked` instead of
    paying for everything again.
    """
    pipeline = list(stage_list) if stage_list is not None else default_stages(config)
    # A profile's run locks its own (profile, day); the default profile's the whole day.
    scope = profile_scope(store.profile_id) if store is not None else ""
    with day_lock(config.database, day, command, scope):
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
        fields = {"day": day.isoformat(), "run_id": ctx.run_id, "command": command}
        log.info("run started", extra=fields)
        try:
            for stage in pipeline:
                if stages is not None and stage.name not in stages:
                    continue
                started, t0 = utcnow(), time.perf_counter()
                detail = stage.run(ctx)
                seconds = round(time.perf_counter() - t0, 3)
                store.record_stage(ctx.run_id, stage.name, started, seconds, detail or {})
                log.info("stage %s finished", stage.name, extra={**fields, "stage": stage.name, "seconds": seconds})
            if ctx.budget.tripped:
                # The digest was still written from what the run got; the run itself failed.
                raise LLMUnavailable(ctx.budget.tripped)
        except BaseException as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            store.finish_run(ctx.run_id, "failed", error)
            log.error("run failed: %s", error, extra={**fields, "status": "failed"})
            raise
        else:
            store.finish_run(ctx.run_id, "ok")
            log.info("run finished", extra={**fields, "status": "ok"})
        finally:
            if own_store:
                store.close()
    return ctx
