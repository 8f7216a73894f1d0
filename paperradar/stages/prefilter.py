"""The prefilter stage: rank the day against the profile, cut at the target recall, explore below."""

from __future__ import annotations

from ..core.context import RunContext, Stage
from ..core.hookspecs import hookimpl
from .profile import prepare_profile, profile_hash, profile_version


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
    return [Stage("prefilter", stage_prefilter, sections=("entries", "reasons"))]
