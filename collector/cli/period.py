"""`punchgate period …`: pay calendars, the close checklist, close, reopen, payroll export."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from collector.cli.common import console, setup_logging
from collector.errors import DomainError
from collector.periods.calendars import add_calendar
from collector.periods.close import (
    CloseBlocked,
    calendar_by_code,
    checklist,
    close_period,
    reopen_period,
)
from collector.periods.payroll import csv_chunks, payroll_figures, period_of, profiles, shape
from collector.runtime import Store, open_store, utcnow
from collector.settings import get_settings
from collector.store.models import PayCalendar, PayPeriod
from rules.payperiod import CycleKind

app = typer.Typer(
    help="Pay periods: calendars, close, reopen, payroll export.", no_args_is_help=True
)
ACTOR = "cli"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-10-26") from None


def _store() -> Store:
    settings = get_settings()
    setup_logging(settings)
    return open_store(settings)


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]{exc.detail}[/]")
    return typer.Exit(2)


@app.command("calendar")
def calendar_command(
    code: str = typer.Argument(..., help="A short code, e.g. monthly-26."),
    kind: CycleKind = typer.Option(..., "--kind", help="monthly, semi_monthly, weekly, biweekly."),
    start_day: int = typer.Option(1, "--start-day", help="Monthly kinds: the first day, 1–28."),
    anchor: str | None = typer.Option(None, "--anchor", help="Weekly kinds: a period's first day."),
    department: str | None = typer.Option(None, "--department", help="Department code."),
    name: str = typer.Option("", "--name"),
) -> None:
    """Add a pay calendar for the company (no --department) or one department."""
    store = _store()
    try:
        with store.sessions.begin() as s:
            add_calendar(
                s,
                code=code,
                kind=kind,
                start_day=start_day,
                anchor=_day(anchor) if anchor else None,
                department=department,
                name=name,
                actor=ACTOR,
                now=utcnow(),
            )
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    console.print(f"pay calendar {code} added")


@app.command("checklist")
def checklist_command(
    calendar: str = typer.Option(..., "--calendar"),
    start: str = typer.Option(..., "--start", help="The period's first day."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What needs HR before the period can close."""
    store = _store()
    try:
        with store.sessions.begin() as s:
            found = checklist(s, calendar_by_code(s, calendar), _day(start), utcnow())
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(found.as_dict()))
        return
    _show(found.as_dict())


def _show(found: dict[str, object]) -> None:
    table = Table(title=f"{found['calendar']} {found['start']} – {found['end']}")
    table.add_column("item")
    table.add_column("count", justify="right")
    table.add_column("examples")
    items = found["items"]
    assert isinstance(items, dict)
    for name, item in items.items():
        examples = ", ".join(json.dumps(e, ensure_ascii=False) for e in item["examples"][:3])
        table.add_row(name, str(item["count"]), examples)
    console.print(table)
    console.print(f"adjustments from earlier periods to carry: {found['adjustments_to_carry']}")


@app.command("close")
def close_command(
    calendar: str = typer.Option(..., "--calendar"),
    start: str = typer.Option(..., "--start", help="The period's first day."),
    override: list[str] = typer.Option(
        [], "--override", help="item=reason, e.g. terminals_behind='door-3 retired'."
    ),
) -> None:
    """Close a period; refused with the checklist while something needs HR."""
    overrides = {}
    for item in override:
        name, sep, reason = item.partition("=")
        if not sep or not reason.strip():
            raise typer.BadParameter(f"{item!r}: write item=reason")
        overrides[name.strip()] = reason.strip()
    store = _store()
    try:
        with store.sessions.begin() as s:
            period, found = close_period(
                s, calendar, _day(start), actor=ACTOR, now=utcnow(), overrides=overrides
            )
            pid, end = period.id, period.end
    except CloseBlocked as exc:
        _show(exc.checklist.as_dict())
        raise _fail(exc) from None
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    console.print(
        f"period {pid} closed: {calendar} {start} – {end.isoformat()},"
        f" {found.employees} employees, {found.adjustments_to_carry} adjustments carried in"
    )


@app.command("reopen")
def reopen_command(
    period_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Reopen the latest closed period of its calendar (audited)."""
    store = _store()
    try:
        with store.sessions.begin() as s:
            plan = reopen_period(s, period_id, actor=ACTOR, reason=reason, now=utcnow())
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    console.print(
        f"period {period_id} reopened: {plan.days} days live again,"
        f" {len(plan.folded)} adjustments folded back, {plan.uncarried} waiting to be carried"
    )


@app.command("list")
def list_command() -> None:
    """Closed and reopened periods, newest first."""
    store = _store()
    try:
        with store.sessions() as s:
            rows = s.execute(
                select(PayPeriod, PayCalendar.code)
                .join(PayCalendar, PayCalendar.id == PayPeriod.calendar_id)
                .order_by(PayPeriod.start.desc())
            ).all()
    finally:
        store.close()
    table = Table()
    for col in ("id", "calendar", "start", "end", "status", "closed by", "employees"):
        table.add_column(col)
    for p, code in rows:
        table.add_row(
            str(p.id),
            code,
            p.start.isoformat(),
            p.end.isoformat(),
            p.status,
            p.closed_by,
            str(p.employees),
        )
    console.print(table)


@app.command("export")
def export_command(
    period_id: int = typer.Argument(...),
    output: Path = typer.Option(..., "--output", "-o", help="CSV file to write."),
    profile: str = typer.Option("generic-wide-en", "--profile"),
) -> None:
    """Write a closed period's payroll export as CSV in a profile's shape."""
    store = _store()
    try:
        found = profiles(store.settings.payroll_profiles_dir)
        if profile not in found:
            console.print(f"[red]no profile {profile!r}; there are {', '.join(sorted(found))}[/]")
            raise typer.Exit(2)
        with store.engine.connect() as conn:
            period, _ = period_of(conn, period_id)
            report = shape(payroll_figures(conn, period_id), found[profile], period)
            rows = 0
            with output.open("wb") as out:
                for chunk in csv_chunks(report, found[profile]):
                    out.write(chunk)
                    rows += chunk.count(b"\n")
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        store.close()
    console.print(f"{output}: {rows - 1} rows ({profile})")
