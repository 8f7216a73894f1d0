"""The ``paperradar`` command line: one subcommand per stage, plus run and demo."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from .cli_db import db_app
from .cli_support import (
    ConfigOption,
    LogFormatChoice,
    LogFormatOption,
    RichReporter,
    chosen_log_format,
    console,
    handle_errors,
    stdout_console,
)
from .cli_users import lab_leaderboard, profile_run, profiles_app, users_app
from .core.config import TEMPLATE, Config, load_config
from .core.errors import PaperradarError
from .core.pipeline import run_day
from .core.store import Store
from .worker import commands as worker_commands

app = typer.Typer(help="A self-hosted research radar for new arXiv papers.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def main(log_format: LogFormatChoice = LogFormatOption):
    """A self-hosted research radar for new arXiv papers."""


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
    """The latest announcement day: asked of the arXiv feed itself (today when arXiv is not read)."""
    from .stages.ingest import make_client

    arxiv = next((s for s in config.enabled_sources() if s.type == "arxiv"), None)
    if arxiv is None:
        return dt.date.today()
    listing = make_client(config).fetch_announcements(arxiv.categories or config.categories)
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
        console.print(Text.assemble(("Error: ", "red"), f"{path} exists; pass --force to overwrite it."))
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
    """Fetch every configured source into the database (one day, or a range with --from/--to)."""
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
    max_cost: float = typer.Option(
        None, "--max-cost", min=0.0, help="Hard cap in $ for this run's LLM calls, all stages together."
    ),
    profile: str = typer.Option(
        None, "--profile", help="Run for this profile (id or OWNER/NAME; default: the default profile)."
    ),
    config_path: Path = ConfigOption,
):
    """Ingest, embed, prefilter and write the digest for one day. Safe to re-run."""
    config = load_config(config_path)
    day = parse_day(date) or default_day(config)
    with profile_run(config, profile) as (run_config, store):
        ctx = run_day(run_config, day, store=store, reporter=RichReporter(), refetch=refetch, max_cost=max_cost)
    c = ctx.digest.counts if ctx.digest else {}
    console.print(f"{day}: {c.get('seen', 0)} papers seen, {c.get('shortlisted', 0)} shortlisted.")
    for kind, path in ctx.paths.items():
        typer.echo(f"{kind}: {path}")


@app.command()
@handle_errors
def digest(
    date: str = typer.Option(..., "--date", help="Announcement day YYYY-MM-DD."),
    fmt: str = typer.Option(None, "--format", help="Print the digest to stdout as markdown or json."),
    source: str = typer.Option(None, "--source", help="Print only papers that appear on this source (its name)."),
    config_path: Path = ConfigOption,
):
    """Write (again) the digest of a day that has been run."""
    config = load_config(config_path)
    day = parse_day(date)
    with open_store(config) as store:
        if store.profile_hash_for_day(day) is None:
            console.print(
                Text.assemble(("Error: ", "red"), f"no run for {day} yet; run `paperradar run --date {day}` first.")
            )
            raise typer.Exit(1)
        ctx = run_day(config, day, store=store, stages=["digest"], command="digest")
    if fmt:
        from .outputs.jsonout import render_json
        from .outputs.markdown import render_markdown

        renderers = {"markdown": render_markdown, "json": render_json}
        if fmt not in renderers:
            raise typer.BadParameter("use markdown or json", param_hint="--format")
        shown = ctx.digest
        if source:
            names = [s.label for s in config.all_sources()]
            if source not in names:
                raise typer.BadParameter(
                    f"no source is called {source!r}; yours: {', '.join(names)}", param_hint="--source"
                )
            entries = [e for e in shown.entries if source in e.paper.sources]
            shown = shown.model_copy(update={"entries": entries, "counts": {**shown.counts, source: len(entries)}})
        sys.stdout.write(renderers[fmt](shown))
    else:
        for kind, path in ctx.paths.items():
            typer.echo(f"{kind}: {path}")


@app.command()
@handle_errors
def runs(limit: int = typer.Option(10, help="How many runs to show."), config_path: Path = ConfigOption):
    """Show recent runs and how long each stage took."""
    from .core.runlock import fail_abandoned_runs

    config = load_config(config_path)
    with open_store(config) as store:
        fail_abandoned_runs(store)
        table = Table("id", "day", "command", "status", "stages (seconds)", "shortlist · recall", "started", "error")
        for r in store.runs(limit):
            stages = ", ".join(f"{s['stage']} {s['seconds']:.1f}" for s in r["stages"])
            detail = {s["stage"]: s["detail"] for s in r["stages"]}
            pre, rec = detail.get("prefilter") or {}, (detail.get("judge") or {}).get("recall") or {}
            short = f"{pre['shortlisted']}+{pre.get('explored', 0)}" if "shortlisted" in pre else ""
            if rec.get("point") is not None:
                short += f" · {rec['point']:.2f} ({rec['low']:.2f}–{rec['high']:.2f})"
            cells = (
                str(r["id"]),
                r["day"],
                r["command"],
                r["status"],
                stages,
                short,
                r["started_at"],
                r["error"] or "",
            )
            table.add_row(*(Text(c) for c in cells))
        stdout_console().print(table)


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


# -- library, signals, learning (paperradar.core.library / .signals / .trending / .learn) --

library_app = typer.Typer(help="Import your reference library (BibTeX, Zotero) as examples of what you read.")
app.add_typer(library_app, name="library")


@library_app.command("import")
@handle_errors
def library_import(
    file: Path = typer.Argument(..., help="A BibTeX (.bib), Zotero CSV (.csv) or Zotero RDF (.rdf) export."),
    config_path: Path = ConfigOption,
):
    """Store and embed the library's papers: seeds of the profile and positives for learning."""
    from .core.embedding import Embedder
    from .core.library import import_library

    config = load_config(config_path)
    with open_store(config) as store, RichReporter().task(f"Importing {file.name}") as advance:
        report = import_library(store, file, Embedder(**config.embedding.transformer()), advance)
    console.print(
        f"{report.items} items ({report.new} new, {report.updated} updated), {report.arxiv} matched to arXiv, "
        f"{report.embedded} embedded."
    )
    for note in report.skipped:
        console.print(Text.assemble(("skipped: ", "yellow"), note))


@library_app.command("list")
@handle_errors
def library_list(config_path: Path = ConfigOption):
    """Show the imported library items."""
    from .core.library import list_items

    config = load_config(config_path)
    with open_store(config) as store:
        rows = list_items(store)
    table = Table("arXiv", "year", "title", "from", "embedded")
    for r in rows:
        table.add_row(r.arxiv_id or "—", str(r.year or ""), r.title, r.source_format, "yes" if r.embedded else "no")
    stdout_console().print(table)
    console.print(f"{len(rows)} items, {sum(1 for r in rows if r.arxiv_id)} on arXiv.")


@app.command()
@handle_errors
def trending(
    date: str = typer.Option("today", "--date", help="Day YYYY-MM-DD whose window to show (default: today)."),
    fetch: bool = typer.Option(True, help="Fetch fresh Hugging Face / Hacker News signals first."),
    config_path: Path = ConfigOption,
):
    """Show the trending papers of the past days (Hugging Face upvotes, Hacker News discussions)."""
    from .signals import trending as tr
    from .signals.collect import collect_signals

    config = load_config(config_path)
    day = parse_day(date)
    with open_store(config) as store:
        if fetch:
            with RichReporter().task("Fetching trending and discussion signals") as advance:
                report = collect_signals(store, config, day, progress=advance)
            for w in report.warnings:
                console.print(w, style="yellow")
        top = tr.trending(store, day, config.signals)
    table = Table("#", "arXiv", "title", "HF upvotes", "HN points", "comments", "thread")
    for i, p in enumerate(top, 1):
        table.add_row(
            str(i), p.arxiv_id, p.title, str(p.upvotes or ""), str(p.points or ""), str(p.comments), p.thread_url or ""
        )
    stdout_console().print(table)


@app.command()
@handle_errors
def learn(
    date: str = typer.Option(None, "--date", help="Also show the day's papers the classifier likes most."),
    config_path: Path = ConfigOption,
):
    """Show what the learned profile is trained on and, for a day, what it favours."""
    from .stages.learn import explain

    config = load_config(config_path)
    with open_store(config) as store:
        for line in explain(store, config, parse_day(date)):
            typer.echo(line)


@app.command("llm-log")
@handle_errors
def llm_log(
    stage: str = typer.Option(None, "--stage", help="Only calls of this stage (judge, title, assess, ...)."),
    totals: bool = typer.Option(False, "--totals", help="Per model: requests, cached hits, tokens and cost."),
    limit: int = typer.Option(20, help="How many recent calls to show."),
    config_path: Path = ConfigOption,
):
    """Show the logged LLM calls, or what they cost per model."""
    from .core.llm_usage import llm_log_table

    config = load_config(config_path)
    with open_store(config) as store:
        stdout_console().print(llm_log_table(store, totals=totals, stage=stage, limit=limit))


@app.command()
@handle_errors
def deliver(
    date: str = typer.Option(None, "--date", help="Listing day YYYY-MM-DD (default: the newest arXiv listing)."),
    channel: list[str] = typer.Option(
        None, "--channel", help="email, slack, webhook, rss or site; repeatable (default: all configured)."
    ),
    force: bool = typer.Option(False, "--force", help="Send again to targets that already got this day."),
    config_path: Path = ConfigOption,
):
    """Deliver a day's digest by e-mail, Slack, webhook, feeds and the static site."""
    from .core.schedule import announcement_day
    from .outputs.deliver import deliver_day

    config = load_config(config_path)
    day = parse_day(date) or announcement_day(dt.datetime.now(dt.UTC))
    with console.status(f"Delivering the digest of {day}"):
        results = deliver_day(config, day, channels=channel or None, force=force)
    if not results:
        console.print(
            "No delivery channel is configured: see [email], [slack], [webhook], [feed] and [site].", markup=False
        )
    for r in results:
        colour = {"sent": "green", "written": "green", "skipped": "yellow"}.get(r.status, "red")
        console.print(Text(str(r), style=colour), soft_wrap=True)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


site_app = typer.Typer(help="The static site of all digests (GitHub Pages or any web server).")
app.add_typer(site_app, name="site")


@site_app.command("build")
@handle_errors
def site_build(
    out: Path = typer.Option(None, "--out", help="Folder to write the site to (default: the site.dir setting)."),
    config_path: Path = ConfigOption,
):
    """Write one HTML page per digest, an index and the feeds."""
    from .outputs.site import build_site

    config = load_config(config_path)
    result = build_site(config, out)
    typer.echo(f"{result.pages} day pages: {result.index}")


# -- impact assessments and tournaments (paperradar.stages.assess / .tournament) --


def _period(value: str) -> str:
    if value not in ("day", "week"):
        raise typer.BadParameter("use day or week", param_hint="--period")
    return value


@app.command()
@handle_errors
def tournament(
    date: str = typer.Option(..., "--date", help="Announcement day YYYY-MM-DD (the last day of a week)."),
    category: str = typer.Option(None, "--category", help="Rank this category's papers; default: your shortlist."),
    period: str = typer.Option("day", "--period", help="day, or week: the 7 days ending at --date."),
    budget: int = typer.Option(None, "--budget", help="New comparisons to spend (default: [tournament] budget)."),
    target: float = typer.Option(None, "--target-ssr", help="Stop once the scale is this reliable (0-1)."),
    personal: bool = typer.Option(
        False, "--personal", help="Ask which paper your profile's reader would rather read first, not impact."
    ),
    config_path: Path = ConfigOption,
):
    """Assess papers and run LLM matches ([tournament] group_size papers per call), then print the leaderboard."""
    from .core.llm import LLM
    from .core.runlock import day_lock
    from .outputs.markdown import render_leaderboards, render_personal_leaderboards
    from .stages.assess import assess_papers
    from .stages.group_tournament import personal_leaderboard, run_group_tournament
    from .stages.pools import leaderboard as board_for
    from .stages.pools import make_pool
    from .stages.tournament import run_tournament

    config = load_config(config_path)
    day = parse_day(date)
    tc = config.tournament
    with day_lock(config.database, day, "tournament"), open_store(config) as store:
        pool = make_pool(store, day, period=_period(period), category=category)
        if len(pool.papers) < 2:
            raise PaperradarError(
                f"Only {len(pool.papers)} paper(s) in {pool.name}: run `paperradar run --date {day}` first, "
                "or pick another --category / --period."
            )
        llm = LLM.from_config(config, store, day=day.isoformat())
        reporter = RichReporter()
        with reporter.task(f"Assessing {len(pool.papers)} papers", total=len(pool.papers)) as advance:
            assessed = assess_papers(store, llm, pool.papers, tc, progress=advance)
        spend = tc.budget if budget is None else budget
        with reporter.task(f"Comparing papers of {pool.name}", total=spend) as advance:
            if personal or tc.group_size > 2:
                report = run_group_tournament(
                    store,
                    llm,
                    tc,
                    pool,
                    question="personal" if personal else "impact",
                    profile=config.profile if personal else None,
                    budget=spend,
                    target_ssr=target,
                    progress=advance,
                )
            else:
                report = run_tournament(
                    store, llm, tc, pool, budget=spend, target_ssr=target, assess=False, progress=advance
                )
        board = (
            personal_leaderboard(store, pool, tc, profile=config.profile) if personal else board_for(store, pool, tc)
        )
    console.print(
        f"{assessed.assessed} assessed ({assessed.reused} reused, {len(assessed.failed)} failed); "
        f"{report.comparisons} new LLM matches ({report.failed} failed, {report.existing} reused); "
        f"{report.stopped}. LLM: {llm.spend.calls} requests, ${llm.spend.cost_usd:.4f}."
    )
    if board is not None:
        sys.stdout.write((render_personal_leaderboards([board]) if personal else render_leaderboards([board])) + "\n")


@app.command()
@handle_errors
def leaderboard(
    period: str = typer.Option("day", "--period", help="day, or week: the 7 days ending at --date."),
    date: str = typer.Option(None, "--date", help="Day YYYY-MM-DD (default: the latest stored day)."),
    category: str = typer.Option(None, "--category", help="Only this category (default: shortlist + all)."),
    fmt: str = typer.Option("markdown", "--format", help="markdown or json."),
    limit: int = typer.Option(None, "--limit", help="Rows per leaderboard."),
    personal: bool = typer.Option(
        False,
        "--personal",
        help="The personal leaderboard (your profile's reading order) and its agreement with impact.",
    ),
    config_path: Path = ConfigOption,
):
    """Print the tournament leaderboards: rating ± uncertainty, W-L-T, win rate, reliability."""
    import json

    from .outputs.markdown import render_leaderboards, render_personal_leaderboards
    from .stages.group_tournament import personal_leaderboards
    from .stages.tournament import leaderboards

    config = load_config(config_path)
    with open_store(config) as store:
        day = parse_day(date) or (dt.date.fromisoformat(store.days()[0]) if store.days() else None)
        if day is None:
            raise PaperradarError("The store has no papers yet: run `paperradar run` first.")
        if personal:
            boards = personal_leaderboards(store, config, day, period=_period(period))
        else:
            boards = leaderboards(
                store, config, day, period=_period(period), categories=[category] if category else None
            )
    if fmt not in ("markdown", "json"):
        raise typer.BadParameter("use markdown or json", param_hint="--format")
    if not boards:
        flag = " --personal" if personal else ""
        console.print(f"No comparisons yet for the {period} of {day}: run `paperradar tournament{flag} --date {day}`.")
        return
    if fmt == "json":
        data = [b.as_dict() for b in boards]
        for b in data:
            b["rows"] = b["rows"][:limit] if limit else b["rows"]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        render = render_personal_leaderboards if personal else render_leaderboards
        sys.stdout.write(render(boards, limit) + "\n")


# -- web app and feedback (paperradar.outputs.web / .feedback) --


@app.command()
@handle_errors
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on; another than loopback needs PAPERRADAR_WEB_TOKEN set."
    ),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    config_path: Path = ConfigOption,
):
    """Serve the web app: digests, paper pages, leaderboards, search, feedback and the profile editor."""
    from .outputs.web import serve as run_server

    config = load_config(config_path)
    console.print(f"paperradar at http://{host if ':' not in host else f'[{host}]'}:{port}/ (Ctrl-C stops it)")
    run_server(config, host=host, port=port, log_format=chosen_log_format(config))


feedback_app = typer.Typer(help="Your 👍/👎/saves: export them.")
app.add_typer(feedback_app, name="feedback")
worker_commands.attach(app, handle_errors, ConfigOption, parse_day, console.print)


@feedback_app.command("export")
@handle_errors
def feedback_export(
    output: Path = typer.Option(None, "--output", "-o", help="CSV file to write (default: stdout)."),
    events: bool = typer.Option(False, "--events", help="Every click instead of each paper's current state."),
    config_path: Path = ConfigOption,
):
    """Write feedback as CSV: each paper's vote, saved flag and note (or every event with --events)."""
    from .core.feedback import export_csv

    config = load_config(config_path)
    with open_store(config) as store:
        text = export_csv(store, events=events)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {max(text.count(chr(10)) - 1, 0)} rows to {output}.")


app.add_typer(users_app, name="users")
app.add_typer(profiles_app, name="profiles")
app.command("lab")(lab_leaderboard)
