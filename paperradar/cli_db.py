"""``paperradar db …``: the store as a whole (copy it to another database, checked)."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .cli_support import console, handle_errors, stdout_console
from .core.dbcopy import CopyReport, copy_store

db_app = typer.Typer(help="The store as a whole: copy it between SQLite and PostgreSQL.", no_args_is_help=True)


@db_app.command("copy")
@handle_errors
def copy(
    source: str = typer.Argument(..., help="The store to copy: a SQLite file or a postgresql:// URL."),
    destination: str = typer.Argument(..., help="Where to copy it: a SQLite file or a postgresql:// URL."),
    force: bool = typer.Option(
        False, "--force", help="The destination holds rows: delete them and replace them with the source's."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Copy every table of SOURCE into DESTINATION, then check each table's row count and checksum.

    Passwords come from $PAPERRADAR_DATABASE_PASSWORD when a URL has none. The
    copy is one transaction: if it fails or a checksum differs, the destination
    is left as it was. A destination that already holds rows is refused unless
    --force.
    """
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("Copying", total=None)

        def on_rows(table: str, n: int) -> None:
            progress.update(task, advance=n, description=f"Copying {table}")

        report = copy_store(
            source,
            destination,
            force=force,
            on_start=lambda total: progress.update(task, total=total),
            on_rows=on_rows,
        )
        progress.update(task, description="Copied")
    stdout_console().print(report_table(report))
    if report.replaced:
        replaced = ", ".join(f"{name} ({n})" for name, n in report.replaced.items())
        console.print(f"Replaced the rows {report.destination} held before: {replaced}.")
    if not report.committed:
        bad = ", ".join(t.name for t in report.tables if not t.ok)
        console.print(
            Text.assemble(
                ("Error: ", "red"),
                f"the copy of {bad} did not match the source; nothing was written to {report.destination}.",
            )
        )
        raise typer.Exit(1)
    console.print(f"Copied {report.rows} rows in {len(report.tables)} tables to {report.destination}: all match.")


def report_table(report: CopyReport) -> Table:
    table = Table(title=f"{report.source} -> {report.destination}")
    for name, justify in (("table", "left"), ("rows", "right"), ("copied", "right"), ("checksum", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("ok")
    for t in report.tables:
        shown = t.source_checksum[:16] if t.ok else f"{t.source_checksum[:16]} != {t.copied_checksum[:16]}"
        table.add_row(t.name, str(t.source_rows), str(t.copied_rows), shown, "ok" if t.ok else "DIFFERS")
    return table
