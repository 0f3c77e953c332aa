"""`punchgate days …`: recompute attendance days for a date range or the dirty queue."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select

from collector.cli.common import console, open_existing_store, setup_logging
from collector.days import close_days, process_dirty, recompute_range
from collector.days.statement import as_json as statement_json
from collector.days.statement import period_statement
from collector.runtime import utcnow
from collector.settings import get_settings
from collector.store.models import Employee
from rules.explain import hm

app = typer.Typer(help="Attendance days: recompute and close.", no_args_is_help=True)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-03-01") from None


@app.command("recompute")
def recompute_command(
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD), inclusive."),
    employee: list[str] = typer.Option(
        [], "--employee", help="Employee code; repeat for several (default: everyone)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Recompute every assigned employee-day in the range (absences included)."""
    start, end = _day(date_from), _day(date_to)
    if end < start:
        raise typer.BadParameter("--to is before --from")
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    try:
        ids = None
        if employee:
            with store.sessions() as session:
                found = dict(
                    session.execute(
                        select(Employee.code, Employee.id).where(Employee.code.in_(employee))
                    ).all()
                )
            missing = sorted(set(employee) - set(found))
            if missing:
                console.print(f"[red]unknown employee code(s): {', '.join(missing)}[/]")
                raise typer.Exit(2)
            ids = list(found.values())
        began = time.perf_counter()
        result = recompute_range(store.engine, start, end, now=utcnow(), employee_ids=ids)
        took = time.perf_counter() - began
    finally:
        store.close()
    summary = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "written": result.written,
        "removed": result.removed,
        "provisional": result.provisional,
        "seconds": round(took, 3),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        console.print(
            f"{result.written} attendance days written ({result.provisional} provisional), "
            f"{result.removed} removed, in {took:.1f} s"
        )


@app.command("process")
def process_command(
    close: bool = typer.Option(True, help="Also run the close-the-day pass first."),
) -> None:
    """Consume the dirty-day queue once (what the service's worker does periodically)."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    try:
        now = utcnow()
        marked = (
            close_days(store.engine, now=now, lookback_days=settings.days_lookback) if close else 0
        )
        result = process_dirty(store.engine, now=now)
    finally:
        store.close()
    console.print(f"{marked} days marked by the close pass; {result.written} days written")


@app.command("show")
def show_command(
    employee: str = typer.Option(..., "--employee", help="Employee code."),
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD), inclusive."),
    opening_min: int = typer.Option(0, help="Balance carried in, minutes."),
    as_json: bool = typer.Option(False, "--json", help="Print the statement as JSON."),
) -> None:
    """An employee's stored days: lateness, overtime, and the time-balance statement."""
    start, end = _day(date_from), _day(date_to)
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    try:
        with store.engine.connect() as conn:
            emp = conn.execute(select(Employee.id).where(Employee.code == employee)).scalar()
            if emp is None:
                console.print(f"[red]unknown employee code: {employee}[/]")
                raise typer.Exit(2)
            st = period_statement(conn, emp, start, end, opening_s=60 * opening_min)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(statement_json(st)))
        return
    table = Table(title=f"{employee}: {start} – {end}")
    for col in ("date", "status", "in", "out", "worked", "late", "early", "overtime", "balance"):
        table.add_column(col)
    for d in st.days:
        table.add_row(
            d.day.isoformat(),
            d.status + (" (provisional)" if d.provisional and d.status != "provisional" else ""),
            _clock(d.first_in, st.zone),
            _clock(d.last_out, st.zone),
            hm(d.worked_s),
            hm(d.late_s) if d.late_s else "",
            hm(d.early_leave_s) if d.early_leave_s else "",
            ", ".join(f"{k} {hm(v)}" for k, v in d.overtime.items()),
            hm(d.balance_delta_s) if d.balance_delta_s else "",
        )
    console.print(table)
    console.print(
        f"worked {hm(st.worked_s)}; late {st.late_days} day(s), {hm(st.late_s)}; "
        f"early leaves {st.early_leave_days}; statuses {st.statuses}"
    )
    if st.balance is not None:
        b = st.balance
        console.print(
            f"balance: opening {hm(b.opening_s)} + change {hm(b.change_s)} = {hm(b.closing_s)}; "
            f"forfeited {hm(b.forfeited_s)}, shortfall {hm(b.shortfall_s)}; "
            f"carried {hm(b.carried_s)}"
        )


def _clock(value: datetime | None, zone: str) -> str:
    return "" if value is None else value.astimezone(ZoneInfo(zone)).strftime("%H:%M")
