"""The digest stage: build the day's digest with every configured enricher and write it."""

from __future__ import annotations

from ..context import RunContext, Stage
from ..hookspecs import hookimpl
from . import build_digest, write_digest


def stage_digest(ctx: RunContext) -> dict:
    ctx.digest = build_digest(ctx.store, ctx.day, ctx.enrichers)
    ctx.paths = write_digest(ctx.digest, ctx.config.output_dir)
    return {k: str(v) for k, v in ctx.paths.items()}


@hookimpl
def register_stages(config):
    return [Stage("digest", stage_digest, sections=("counts", "entries"))]
