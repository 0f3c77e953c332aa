"""`punchgate roster import FILE`: the roster HR keeps in Excel or CSV, checked as a whole."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape

from collector.cli.common import console, setup_logging
from collector.importing.options import ImportError_
from collector.runtime import open_store, utcnow
from collector.settings import get_settings
from collector.workforce.roster_import import (
    RosterImportError,
    plan_roster_import,
    store_roster,
)

app = typer.Typer(help="Rosters: shift plans per employee and day.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    sheet: str | None = typer.Option(None, help="XLSX sheet name (the first when omitted)."),
    encoding: str | None = typer.Option(None, help="Text encoding, e.g. gb18030 (UTF-8 default)."),
    delimiter: str | None = typer.Option(None, help="CSV delimiter (sniffed when omitted)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file; store nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import a roster (employees as rows, dates as columns); exits 2 and stores nothing on
    any unknown code, unknown employee or overlapping shifts."""
    settings = get_settings()
    setup_logging(settings)
    store = open_store(settings)
    try:
        with store.engine.connect() as conn, conn.begin() as tx:  # all of the file, or nothing
            plan = plan_roster_import(
                conn, file, sheet=sheet, encoding=encoding, delimiter=delimiter
            )
            if dry_run:
                out = {"employees": plan.employees, "days": len(plan.entries) + len(plan.blank)}
                tx.rollback()
            else:
                out = asdict(store_roster(conn, plan, today=utcnow().date()))
    except RosterImportError as exc:
        if as_json:
            typer.echo(json.dumps({"file": str(file), "stored": False, "problems": exc.problems}))
        console.print(f"[red]cannot import {escape(str(file))}: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except ImportError_ as exc:
        console.print(f"[red]cannot import {escape(str(file))}: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"file": str(file), "stored": not dry_run, **out}))
    elif dry_run:
        console.print(f"{file.name}: {out['employees']} employees, {out['days']} days; all valid")
    else:
        console.print(
            f"{file.name}: {out['employees']} employees, {out['days']} days; {out['written']} "
            f"entries written, {out['removed']} removed, {out['marked']} days to recompute"
        )
