"""What every ``paperradar`` command shares: the consoles, the --config option, errors, logging, progress."""

from __future__ import annotations

import contextlib
import enum
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from .core.config import Config, load_config
from .core.context import Reporter
from .core.errors import PaperradarError
from .core.logs import LOG_FORMATS, configure_logging

# Markup off: messages carry user and upstream text ("[profile]", "[/red]") that must print as written.
console = Console(stderr=True, markup=False, highlight=False)

ConfigOption = typer.Option(
    None, "--config", "-c", help="Path to paperradar.toml (default: ./paperradar.toml or $PAPERRADAR_CONFIG)."
)
LOG_FORMAT_ENV = "PAPERRADAR_LOG_FORMAT"

LogFormatChoice = enum.Enum("LogFormatChoice", {f: f for f in LOG_FORMATS}, type=str)
LogFormatOption = typer.Option(
    None,
    "--log-format",
    envvar=LOG_FORMAT_ENV,
    help="Logs on stderr as 'text' or 'json' lines (default: [paperradar] log_format, else text).",
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
        console.print(message, style="yellow")


def stdout_console() -> Console:
    """Tables on stdout: titles and errors in cells are text, never markup."""
    return Console(markup=False, highlight=False)


def _cli_log_format() -> str | None:
    """``paperradar --log-format …`` (or $PAPERRADAR_LOG_FORMAT), read from the command line's root."""
    try:  # typer >= 0.22 carries its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    ctx = get_current_context(silent=True)
    chosen = ctx.find_root().params.get("log_format") if ctx is not None else None
    return chosen.value if isinstance(chosen, enum.Enum) else chosen


def chosen_log_format(config: Config | None) -> str:
    """The command line's choice, else the configuration's, else text."""
    return _cli_log_format() or (config.log_format if config is not None else "text")


def _configured_log_format(config_path: Path | None) -> str:
    # The command loads (and reports on) its configuration itself; here a broken one just means text.
    try:
        return load_config(config_path).log_format
    except PaperradarError:
        return "text"


def setup_logging(config_path: Path | None = None) -> None:
    """The library's records on stderr, redacted, as text or JSON lines (see core/logs.py)."""
    configure_logging(_cli_log_format() or _configured_log_format(config_path))


def handle_errors(fn):
    """Library errors become one short line; PAPERRADAR_DEBUG=1 shows the traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        setup_logging(kwargs.get("config_path"))
        try:
            return fn(*args, **kwargs)
        except PaperradarError as exc:
            if os.environ.get("PAPERRADAR_DEBUG"):
                raise
            console.print(Text.assemble(("Error: ", "red"), str(exc)), soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper
