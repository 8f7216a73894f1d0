"""The ``paperradar`` command line: one subcommand per stage, plus run and demo."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import TEMPLATE, Config, load_config
from .errors import PaperradarError
from .pipeline import Reporter, run_day
from .store import Store

app = typer.Typer(help="A self-hosted research radar for new arXiv papers.", no_args_is_help=True)
console = Console(stderr=True)

ConfigOption = typer.Option(
    None, "--config", "-c", help="Path to paperradar.toml (default: ./paperradar.toml or $PAPERRADAR_CONFIG)."
)


class RichReporter(Reporter):
    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        if self.quiet:
            yield lambda n=1: None
            return
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=console, transient=False) as progress:
            task_id = progress.add_task(description, total=total)
            yield lambda n=1: progress.advance(task_id, n)
            if total is not None:
                progress.update(task_id, completed=total)

    def info(self, message: str) -> None:
        console.print(f"[yellow]{message}[/yellow]")


def handle_errors(fn):
    """Library errors become one short line; PAPERRADAR_DEBUG=1 shows the traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PaperradarError as exc:
            if os.environ.get("PAPERRADAR_DEBUG"):
                raise
            console.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(1) from None

    return wrapper


def parse_day(value: str | None, option: str = "--date") -> dt.date | None:
    if value is None:
        return None
    if value == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-02-24", param_hint=option
        ) from None


def open_store(config: Config) -> Store:
    return Store(config.database)


def default_day(config: Config) -> dt.date:
    """The latest announcement day: asked of the arXiv feed itself."""
    from .pipeline import make_client

    listing = make_client(config).fetch_announcements(config.categories)
    if listing.announced is None:
        raise PaperradarError("arXiv's feed is empty right now (weekend or holiday); pass --date YYYY-MM-DD.")
    return listing.announced


@app.command()
@handle_errors
def init(
    path: Path = typer.Argument(Path("paperradar.toml"), help="Where to write the configuration."),
    force: bool = typer.Option(False, help="Overwrite an existing file."),
):
    """Write a commented paperradar.toml to start from."""
    if path.exists() and not force:
        console.print(f"[red]Error:[/red] {path} exists; pass --force to overwrite it.")
        raise typer.Exit(1)
    path.write_text(TEMPLATE, encoding="utf-8")
    console.print(f"Wrote {path}. Edit the [profile] section, then run `paperradar run`.")


@app.command()
@handle_errors
def ingest(
    date: str = typer.Option(None, "--date", help="Announcement day YYYY-MM-DD (default: the latest)."),
    from_: str = typer.Option(None, "--from", help="Backfill from this day (with --to)."),
    to: str = typer.Option(None, "--to", help="Backfill up to this day, inclusive."),
    refetch: bool = typer.Option(False, help="Fetch again even if the day is stored."),
    config_path: Path = ConfigOption,
):
    """Fetch arXiv announcements into the database (one day, or a range with --from/--to)."""
    config = load_config(config_path)
    start, end = parse_day(from_, "--from"), parse_day(to, "--to")
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --from and --to", param_hint="--from/--to")
    days: list[dt.date]
    if start and end:
        if end < start:
            raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        days = [d for d in days if d.weekday() < 5]
    else:
        days = [parse_day(date) or default_day(config)]
    with open_store(config) as store:
        for day in days:
            ctx = run_day(
                config, day, store=store, reporter=RichReporter(), stages=["ingest"], refetch=refetch, command="ingest"
            )
            detail = store.runs(1)[0]["stages"][0]["detail"]
            count = len(ctx.store.papers_for_day(day, include_replacements=True))
            console.print(f"{day}: {count} papers stored ({detail.get('source')})")


@app.command()
@handle_errors
def run(
    date: str = typer.Option(None, "--date", help="Announcement day YYYY-MM-DD (default: the latest)."),
    refetch: bool = typer.Option(False, help="Fetch the day again even if stored."),
    config_path: Path = ConfigOption,
):
    """Ingest, embed, prefilter and write the digest for one day. Safe to re-run."""
    config = load_config(config_path)
    day = parse_day(date) or default_day(config)
    ctx = run_day(config, day, reporter=RichReporter(), refetch=refetch)
    c = ctx.digest.counts if ctx.digest else {}
    console.print(f"{day}: {c.get('seen', 0)} papers seen, {c.get('shortlisted', 0)} shortlisted.")
    for kind, path in ctx.paths.items():
        typer.echo(f"{kind}: {path}")


@app.command()
@handle_errors
def digest(
    date: str = typer.Option(..., "--date", help="Announcement day YYYY-MM-DD."),
    fmt: str = typer.Option(None, "--format", help="Print the digest to stdout as markdown or json."),
    config_path: Path = ConfigOption,
):
    """Write (again) the digest of a day that has been run."""
    config = load_config(config_path)
    day = parse_day(date)
    with open_store(config) as store:
        if store.profile_hash_for_day(day) is None:
            console.print(f"[red]Error:[/red] no run for {day} yet; run `paperradar run --date {day}` first.")
            raise typer.Exit(1)
        ctx = run_day(config, day, store=store, stages=["digest"], command="digest")
    if fmt:
        from .digest.jsonout import render_json
        from .digest.markdown import render_markdown

        renderers = {"markdown": render_markdown, "json": render_json}
        if fmt not in renderers:
            raise typer.BadParameter("use markdown or json", param_hint="--format")
        sys.stdout.write(renderers[fmt](ctx.digest))
    else:
        for kind, path in ctx.paths.items():
            typer.echo(f"{kind}: {path}")


@app.command()
@handle_errors
def runs(limit: int = typer.Option(10, help="How many runs to show."), config_path: Path = ConfigOption):
    """Show recent runs and how long each stage took."""
    config = load_config(config_path)
    with open_store(config) as store:
        table = Table("id", "day", "command", "status", "stages (seconds)", "started")
        for r in store.runs(limit):
            stages = ", ".join(f"{s['stage']} {s['seconds']:.1f}" for s in r["stages"])
            table.add_row(str(r["id"]), r["day"], r["command"], r["status"], stages, r["started_at"])
        Console().print(table)


@app.command()
@handle_errors
def demo(
    directory: Path = typer.Argument(
        Path("paperradar-demo"), help="Folder for the demo's config, database and digest."
    ),
):
    """Run the whole pipeline offline on a bundled real arXiv day with an example profile."""
    from .demo.setup import DEMO_DAY, setup_demo

    config = setup_demo(directory)
    with open_store(config) as store:
        ctx = run_day(config, DEMO_DAY, store=store, reporter=RichReporter(), command="demo")
    c = ctx.digest.counts
    console.print(
        f"Demo day {DEMO_DAY}: {c['seen']} papers seen, {c['shortlisted']} shortlisted "
        f"(ranked by {ctx.digest.ranked_by})."
    )
    for kind, path in ctx.paths.items():
        typer.echo(f"{kind}: {path}")
