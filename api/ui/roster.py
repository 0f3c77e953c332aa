"""The roster page: a department's planned shifts, employees by dates, a colour per shift;
hr changes one employee-day there (a swap, an extra shift, a day off) or gives it back to
the pattern, through the same service as the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, StoreDep
from api.ui.render import page_errors, render
from api.ui.session import HrPage, Viewer
from collector.errors import DomainError, NotFound
from collector.masterdata.org import list_departments
from collector.normalize import zone
from collector.runtime import Store, utcnow
from collector.store.models import Employee
from collector.workforce import rosters
from rules.shifts import REST_CODES

router = APIRouter(prefix="/ui", include_in_schema=False)
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]
DeptQ = Annotated[str | None, Query(max_length=64)]
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@router.get("/roster", response_class=HTMLResponse)
def roster_page(
    request: Request,
    viewer: HrPage,
    store: StoreDep,
    session: SessionDep,
    start: FromQ = None,
    end: ToQ = None,
    department: DeptQ = None,
    notice: Annotated[str | None, Query(max_length=40)] = None,
    employee: Annotated[str | None, Query(max_length=64)] = None,
    day: date | None = None,
) -> Response:
    """Two weeks from this Monday by default; a scoped key sees only its own department.

    A cell links here with its employee and day, which fill the change form in.
    """
    shown = notice if notice in NOTICES else None
    picked = {"employee": employee or "", "day": day.isoformat() if day else ""}
    return _page(
        request, viewer, store, session, start, end, department, notice=shown, picked=picked
    )


NOTICES = ("roster_day_saved", "roster_day_cleared")


@router.post("/roster/day")
def change_day(
    request: Request,
    viewer: HrPage,
    store: StoreDep,
    session: SessionDep,
    employee: Annotated[str, Form(max_length=64)],
    day: Annotated[date, Form()],
    code: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    start: Annotated[date | None, Form(alias="from")] = None,
    end: Annotated[date | None, Form(alias="to")] = None,
    department: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Roster one employee-day (a code), or give it back to the pattern (no code)."""
    viewer.check_csrf(csrf)
    try:
        with store.sessions.begin() as s:
            emp = _employee(s, viewer, employee)
            if code.strip():
                rosters.set_day(s, employee=emp, day=day, code=code.strip(), note=note.strip())
            else:
                rosters.clear_day(s, employee=emp, day=day)
    except DomainError as exc:
        return _page(
            request,
            viewer,
            store,
            session,
            start,
            end,
            department or None,
            error=exc.detail,
            status=exc.status,
            picked={"employee": employee, "day": day.isoformat(), "code": code, "note": note},
        )
    done = "roster_day_saved" if code.strip() else "roster_day_cleared"
    query = {"from": start, "to": end, "department": department or None, "notice": done}
    back = "&".join(f"{k}={v}" for k, v in query.items() if v)
    return RedirectResponse(f"/ui/roster?{back}", status_code=303)


def _employee(session: Session, viewer: Viewer, code: str) -> Employee:
    """The employee with that code, if the page's key may see it (else the same NotFound)."""
    found = session.scalar(
        select(Employee).where(Employee.code == code, Employee.deleted_at.is_(None))
    )
    if found is None or not viewer.principal.scope.admits(found):
        # The same answer for both, and the code not echoed: it says nothing either way.
        raise NotFound("no employee with that code in this roster", field="employee")
    return found


def _page(
    request: Request,
    viewer: Viewer,
    store: Store,
    session: Session,
    start: date | None,
    end: date | None,
    department: str | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    picked: dict[str, str] | None = None,
) -> Response:
    today = utcnow().astimezone(zone(store.settings.default_timezone)).date()
    start = start or today - timedelta(days=today.weekday())
    end = end or start + timedelta(days=13)
    scope = viewer.principal.scope
    choices = [d for d in list_departments(session) if scope.department_id in (None, d.id)]
    with page_errors():
        chosen = choices[0] if choices and not department else None
        if department:
            chosen = next((d for d in choices if d.code == department), None)
            if chosen is None:
                raise NotFound(f"no department {department!r}")
        rows = (
            []
            if chosen is None
            else rosters.resolved_roster(session, department=chosen, start=start, end=end)
        )
        types = rosters.list_shift_types(session)
        colours = {t.code: t.document.get("color") for t in types}
    dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return render(
        request,
        "roster.html",
        viewer,
        status=status,
        start=start,
        end=end,
        chosen=chosen,
        departments=choices,
        dates=dates,
        weekdays=WEEKDAY_KEYS,
        rows=rows,
        colours=colours,
        codes=[(t.code, t.name) for t in types],
        rest_codes=sorted(REST_CODES),
        picked=picked or {},
        notice=notice,
        error=error,
        page="roster",
    )
