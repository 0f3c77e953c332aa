"""`punchgate import FILE`: historical punches from CSV or XLSX exports."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from collector.cli.common import console, setup_logging
from collector.importer import ColumnMap, ImportError_, ImportOptions, import_file
from collector.runtime import open_store, utcnow
from collector.settings import get_settings
from collector.store.models import Device


def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    encoding: str = typer.Option("utf-8", help="Text encoding of a CSV file (e.g. gbk)."),
    delimiter: str | None = typer.Option(None, help="CSV delimiter (sniffed when omitted)."),
    timezone: str | None = typer.Option(
        None, help="IANA zone for rows with no zone column and no known device."
    ),
    time_format: str | None = typer.Option(
        None, help="strptime format of the timestamp column (ISO 8601 when omitted)."
    ),
    device: str | None = typer.Option(None, help="Device code for every row."),
    sheet: str | None = typer.Option(None, help="XLSX sheet name (the first when omitted)."),
    col_employee: str = typer.Option("employee_code", help="Header of the employee code column."),
    col_time: str = typer.Option("timestamp", help="Header of the timestamp column."),
    col_timezone: str = typer.Option("timezone", help="Header of the timezone column."),
    col_state: str = typer.Option("state", help="Header of the in/out state column."),
    col_device: str = typer.Option("device", help="Header of the device column."),
    col_verify: str = typer.Option("verify", help="Header of the verify method column."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import punches; re-importing the same file inserts nothing. Exits 1 if rows were rejected."""
    settings = get_settings()
    setup_logging(settings)
    store = open_store(settings)
    options = ImportOptions(
        columns=ColumnMap(col_employee, col_time, col_timezone, col_state, col_device, col_verify),
        encoding=encoding,
        delimiter=delimiter,
        timezone=timezone,
        time_format=time_format,
        device=device,
        sheet=sheet,
    )
    with store.sessions() as session:
        zones = {d.code: d.timezone for d in session.scalars(select(Device))}
    size = file.stat().st_size
    is_xlsx = file.suffix.lower() in (".xlsx", ".xlsm")
    columns = [TextColumn("importing {task.description}"), BarColumn()]
    if not is_xlsx:
        columns += [DownloadColumn(), TimeRemainingColumn()]
    try:
        with Progress(*columns, console=console, transient=as_json) as progress:
            task = progress.add_task(file.name, total=None if is_xlsx else size)
            summary = import_file(
                store.engine,
                file,
                options=options,
                now=utcnow(),
                policy=store.policy,
                device_zones=zones,
                progress=lambda n: progress.update(task, completed=n),
            )
    except ImportError_ as exc:
        console.print(f"[red]cannot import {file}: {exc}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        out = {
            "file": str(file),
            "rows": summary.rows,
            "inserted": summary.inserted,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "rejected": [{"line": n, "reason": r} for n, r in summary.rejected],
        }
        typer.echo(json.dumps(out))
    else:
        console.print(
            f"{summary.rows} rows: {summary.inserted} inserted, {summary.duplicates} already "
            f"stored, {summary.quarantined} quarantined"
        )
        if summary.rejected:
            table = Table("line", "reason", title="quarantined rows")
            for line, reason in summary.rejected:
                table.add_row(str(line), reason)
            console.print(table)
    if summary.quarantined:
        raise typer.Exit(1)
