"""The roster page: a department's planned shifts, employees by dates, a colour per shift."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, StoreDep
from api.ui.render import page_errors, render
from api.ui.session import HrPage
from collector.errors import NotFound
from collector.masterdata.org import list_departments
from collector.normalize import zone
from collector.runtime import utcnow
from collector.workforce import rosters

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
) -> Response:
    """Two weeks from this Monday by default; a scoped key sees only its own department."""
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
        colours = {t.code: t.document.get("color") for t in rosters.list_shift_types(session)}
    dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return render(
        request,
        "roster.html",
        viewer,
        start=start,
        end=end,
        chosen=chosen,
        departments=choices,
        dates=dates,
        weekdays=WEEKDAY_KEYS,
        rows=rows,
        colours=colours,
        page="roster",
    )
