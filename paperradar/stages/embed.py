"""The embed stage: a vector for every paper of the day, computed once per text and model."""

from __future__ import annotations

from ..core.context import RunContext, Stage
from ..core.embedding import embed_papers
from ..core.hookspecs import hookimpl
from .cascade import embed_day


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


@hookimpl
def register_stages(config):
    return [Stage("embed", stage_embed)]
