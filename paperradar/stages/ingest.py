"""The ingest stage: read every enabled source for the day into the store."""

from __future__ import annotations

from ..core.config import Config
from ..core.context import RunContext, Stage
from ..core.errors import SourceError
from ..core.hookspecs import hookimpl
from ..core.works import Works
from ..sources.factory import make_source


def make_client(config: Config):
    """The arXiv client of the configured arXiv source (the CLI asks it for the latest day)."""
    from ..core.source_settings import ArxivSourceConfig
    from ..sources.arxiv_source import make_arxiv_client

    cfg = next((s for s in config.all_sources() if s.type == "arxiv"), None)
    return make_arxiv_client(cfg or ArxivSourceConfig(type="arxiv"))


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


@hookimpl
def register_stages(config):
    return [Stage("ingest", ingest_day, sections=("papers", "locations"))]
