"""``paperradar worker`` and ``paperradar schedule``, attached to the command line by :func:`attach`.

The command line's helpers (error handling, the --config option, date parsing)
are passed in rather than imported, so this package stays below ``paperradar.cli``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import typer

from ..core.config import load_config


def attach(app: typer.Typer, handle_errors: Callable, config_option, parse_day: Callable, echo: Callable) -> None:
    @app.command()
    @handle_errors
    def worker(
        concurrency: int = typer.Option(
            None, "--concurrency", min=1, help="Jobs run at once (default: [worker] concurrency)."
        ),
        until_empty: bool = typer.Option(
            False, "--until-empty", help="Stop once no job is waiting, instead of waiting for more."
        ),
        config_path: Path = config_option,
    ):
        """Run jobs from the PostgreSQL job queue until SIGTERM (which lets the running jobs finish)."""
        from .run import run_worker

        config = load_config(config_path)
        run_worker(config, concurrency=concurrency, wait=not until_empty)

    @app.command()
    @handle_errors
    def schedule(
        date: str = typer.Option(None, "--date", help="Announcement day YYYY-MM-DD (default: the newest listing)."),
        config_path: Path = config_option,
    ):
        """Queue a day's jobs: ingest, then embed, one job per profile and the tournament follow."""
        from ..core.schedule import announcement_day
        from .jobs import make_app, schedule_day
        from .queue import ensure_schema, queue_url

        config = load_config(config_path)
        day = parse_day(date) or announcement_day(dt.datetime.now(dt.UTC))
        app = make_app(config, queue_url(config))
        with app.open():
            ensure_schema(app)
            job = schedule_day(app, day)
        if job is None:
            echo(f"{day}: already queued; nothing added.")
        else:
            echo(f"{day}: queued (ingest job {job}); a `paperradar worker` runs it and what follows.")
