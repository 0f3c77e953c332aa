"""Employee month: a calendar of the stored days, one day's punches and the balance."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.ui.render import page_errors, render
from api.ui.scope import PageEmployee, PageZone
from api.ui.session import ViewerPage
from collector.days.statement import period_statement
from collector.masterdata.employees import list_employees
from collector.normalize import zone
from collector.phoneapp import devices
from collector.reports.employee_day import employee_day
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
MonthQ = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]


def month_bounds(text: str | None, today: date) -> tuple[date, date]:
    """First and last day of 'YYYY-MM' (this month by default)."""
    year, month = (int(p) for p in text.split("-")) if text else (today.year, today.month)
    month = min(max(month, 1), 12)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def shift(first: date, months: int) -> str:
    """'YYYY-MM' of the month `months` away from `first`'s."""
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@router.get("/employee", response_class=HTMLResponse)
def employee_page(
    request: Request,
    viewer: ViewerPage,
    tz: PageZone,
    session: SessionDep,
    emp: PageEmployee,
    month: MonthQ = None,
    day: date | None = None,
) -> Response:
    """Pick an employee; the month's calendar; the chosen day's punches and explanation."""
    people = list_employees(session, scope=viewer.principal.scope, limit=1000)
    today = utcnow().astimezone(zone(tz)).date()
    first, last = month_bounds(month, today)
    context: dict[str, Any] = {
        "people": people,
        "first": first,
        "page": "employee",
        "app_devices": None,
    }
    if emp is None and people:
        emp = people[0]
    if emp is not None:
        with page_errors():
            statement = period_statement(session.connection(), emp.id, first, last)
            chosen = (
                employee_day(session, emp=emp, day=day, default_tz=tz) if day is not None else None
            )
        stored = {d.day: d for d in statement.days}
        weeks = [
            [(d, stored.get(d)) if d.month == first.month else (None, None) for d in week]
            for week in calendar.Calendar().monthdatescalendar(first.year, first.month)
        ]
        context.update(
            emp=emp,
            statement=statement,
            weeks=weeks,
            chosen=chosen,
            summary=chosen.summary() if chosen is not None else None,
            today=today,
            prev_month=shift(first, -1),
            next_month=shift(first, 1),
            month=f"{first:%Y-%m}",
            last=last,
            # HR manages the employee's punch app phones here.
            app_devices=devices.list_devices(session, employee=emp)
            if viewer.principal.sees_private
            else None,
        )
    return render(request, "employee.html", viewer, **context)
