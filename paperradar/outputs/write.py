"""The digest stage: build the day's digest with every configured enricher and write it."""

from __future__ import annotations

from pathlib import Path

from ..core.context import RunContext, Stage
from ..core.digest import Digest, build_digest, digest_paths
from ..core.hookspecs import hookimpl


def stage_digest(ctx: RunContext) -> dict:
    ctx.digest = build_digest(ctx.store, ctx.day, ctx.enrichers)
    ctx.paths = write_digest(ctx.digest, ctx.config.output_dir)
    return {k: str(v) for k, v in ctx.paths.items()}


@hookimpl
def register_stages(config):
    return [Stage("digest", stage_digest, sections=("counts", "entries"))]


def write_digest(digest: Digest, output_dir: Path) -> dict[str, Path]:
    from ..core.files import write_text_atomic
    from .jsonout import render_json
    from .markdown import render_markdown

    paths = digest_paths(output_dir, digest.day)
    paths["markdown"].parent.mkdir(parents=True, exist_ok=True)
    for kind, text in (("markdown", render_markdown(digest)), ("json", render_json(digest))):
        write_text_atomic(paths[kind], text)
    return paths
