"""`punchgate leave …`: import the leave HR keeps in a spreadsheet."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape

from collector.cli.common import console, setup_logging
from collector.importing import ImportError_
from collector.runtime import open_store, utcnow
from collector.settings import get_settings
from collector.workforce.leave_import import import_leave

app = typer.Typer(help="Leave and absences.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    encoding: str | None = typer.Option(None, help="Text encoding (e.g. gb18030)."),
    sheet: str | None = typer.Option(None, help="XLSX sheet name (the first when omitted)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import leave (CSV/XLSX): the whole file, or nothing when any row is wrong (exit 1)."""
    settings = get_settings()
    setup_logging(settings)
    store = open_store(settings)
    try:
        with store.sessions() as session:
            summary = import_leave(
                session,
                file,
                actor=f"import:{file.name}",
                now=utcnow(),
                encoding=encoding,
                sheet=sheet,
            )
            if summary.problems:
                session.rollback()  # all or nothing
            else:
                session.commit()
    except ImportError_ as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    finally:
        store.close()
    if as_json:
        print(json.dumps(asdict(summary)))
    else:
        for problem in summary.problems:
            console.print(f"[red]{escape(problem)}[/]")
        state = "refused, nothing stored" if summary.problems else "imported"
        console.print(
            f"{file.name}: {summary.rows} row(s) {state}; added {summary.added}, "
            f"changed {summary.changed}, unchanged {summary.unchanged}"
        )
    if summary.problems:
        raise typer.Exit(1)
