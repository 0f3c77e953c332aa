"""`punchgate import FILE`: historical punches from CSV, text or XLSX exports."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from collector.cli.common import console, open_existing_store, setup_logging
from collector.importing import ColumnMap, ImportError_, ImportOptions, import_file, prepare_import
from collector.runtime import utcnow
from collector.settings import get_settings
from collector.store.models import Device


def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    encoding: str | None = typer.Option(
        None,
        help="Text encoding (e.g. gb18030); when omitted, a byte-order mark or UTF-8, "
        "and a file that is neither is refused with what it looks like.",
    ),
    delimiter: str | None = typer.Option(None, help="CSV delimiter (sniffed when omitted)."),
    timezone: str | None = typer.Option(
        None, help="IANA zone for rows with no zone column and no known device."
    ),
    time_format: str | None = typer.Option(
        None,
        help="strptime format of the times, e.g. '%d/%m/%Y %H:%M' (detected when omitted; "
        "a file whose day/month order cannot be told is refused).",
    ),
    device: str | None = typer.Option(None, help="Device code for every row."),
    sheet: str | None = typer.Option(None, help="XLSX sheet name (the first when omitted)."),
    col_employee: str | None = typer.Option(None, help="Header of the employee code column."),
    col_time: str | None = typer.Option(
        None, help="Header of the time column (the date and time, or the time beside --col-date)."
    ),
    col_date: str | None = typer.Option(None, help="Header of a separate date column."),
    col_timezone: str | None = typer.Option(None, help="Header of the timezone column."),
    col_state: str | None = typer.Option(None, help="Header of the in/out state column."),
    col_device: str | None = typer.Option(None, help="Header of the device column."),
    col_verify: str | None = typer.Option(None, help="Header of the verify method column."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import punches; re-importing the same file inserts nothing. Exits 1 if rows were rejected."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    options = ImportOptions(
        columns=ColumnMap(
            employee=col_employee,
            timestamp=col_time,
            date=col_date,
            timezone=col_timezone,
            state=col_state,
            device=col_device,
            verify=col_verify,
        ),
        encoding=encoding,
        delimiter=delimiter,
        timezone=timezone,
        time_format=time_format,
        device=device,
        sheet=sheet,
    )
    with store.sessions() as session:
        zones = {d.code: d.timezone for d in session.scalars(select(Device))}
    try:
        plan = prepare_import(file, options)
        if not as_json:
            console.print(f"reading {file.name}: {escape(plan.describe())}")
        is_xlsx = plan.encoding is None
        columns = [TextColumn("importing {task.description}"), BarColumn()]
        if not is_xlsx:
            columns += [DownloadColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=as_json) as progress:
            total = None if is_xlsx else file.stat().st_size
            task = progress.add_task(file.name, total=total)
            summary = import_file(
                store.engine,
                file,
                options=options,
                now=utcnow(),
                policy=store.policy,
                device_zones=zones,
                progress=lambda n: progress.update(task, completed=n),
                plan=plan,
            )
    except ImportError_ as exc:
        console.print(f"[red]cannot import {escape(str(file))}: {escape(str(exc))}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        out = {
            "file": str(file),
            "read_as": plan.describe(),
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
