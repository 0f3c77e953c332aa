"""Pay periods: calendars, the close checklist with overrides, closing, payroll downloads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import RowId, SessionDep, StoreDep
from api.payroll import payroll_response
from api.ui.render import page_errors, render
from api.ui.session import HrPage, PageError, Viewer
from collector.errors import DomainError
from collector.normalize import zone
from collector.periods.close import (
    OVERRIDABLE,
    CloseBlocked,
    calendar_by_code,
    checklist,
    close_period,
    cycle_of,
)
from collector.periods.payroll import profiles
from collector.runtime import utcnow
from collector.store.models import PayCalendar, PayPeriod

router = APIRouter(prefix="/ui", include_in_schema=False)
CsrfF = Annotated[str, Form(max_length=100)]


def _company(viewer: Viewer) -> None:
    if viewer.principal.department_id is not None:
        raise PageError(403, "pay periods need a key without a department")


def _periods(session: Session) -> list[tuple[PayPeriod, str]]:
    return [
        (p, code)
        for p, code in session.execute(
            select(PayPeriod, PayCalendar.code)
            .join(PayCalendar, PayCalendar.id == PayPeriod.calendar_id)
            .order_by(PayPeriod.start.desc(), PayCalendar.code)
            .limit(60)
        )
    ]


def _next_to_close(session: Session, cal: PayCalendar, today: date) -> date:
    """The first period after the latest closed one, or the last one that has ended."""
    cycle = cycle_of(cal)
    latest = session.scalar(
        select(PayPeriod.start)
        .where(PayPeriod.calendar_id == cal.id, PayPeriod.status == "closed")
        .order_by(PayPeriod.start.desc())
    )
    if latest is not None:
        return cycle.next_period(latest)[0]
    start, _ = cycle.period_of(today)
    return cycle.period_of(start - timedelta(days=1))[0]


@router.get("/periods", response_class=HTMLResponse)
def periods_page(
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    store: StoreDep,
    notice: Annotated[str | None, Query(pattern="^(closed)$")] = None,
) -> Response:
    """Each calendar with its next period to close, and the periods closed so far."""
    _company(viewer)
    today = utcnow().astimezone(zone(store.settings.default_timezone)).date()
    calendars = list(session.scalars(select(PayCalendar).order_by(PayCalendar.code)))
    return render(
        request,
        "periods.html",
        viewer,
        calendars=[(c, _next_to_close(session, c, today)) for c in calendars],
        periods=_periods(session),
        profiles=sorted(profiles(store.settings.payroll_profiles_dir)),
        notice=notice,
        page="periods",
    )


def _checklist_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    calendar: str,
    start: date,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    with page_errors():
        cal = calendar_by_code(session, calendar)
        found = checklist(session, cal, start, utcnow())
    return render(
        request,
        "period_checklist.html",
        viewer,
        status=status,
        found=found.as_dict(),
        overridable=OVERRIDABLE,
        page="periods",
        **context,
    )


@router.get("/periods/checklist", response_class=HTMLResponse)
def checklist_page(
    request: Request,
    viewer: HrPage,
    store: StoreDep,
    calendar: Annotated[str, Query(max_length=64)],
    start: date,
) -> Response:
    """What needs HR before the period can close, with a reason box per overridable item."""
    _company(viewer)
    # The checklist recomputes the period's days first: a write, so its own transaction.
    with store.sessions.begin() as s:
        return _checklist_page(request, viewer, s, calendar, start)


@router.post("/periods/close")
async def close_form(
    request: Request,
    viewer: HrPage,
    store: StoreDep,
    calendar: Annotated[str, Form(max_length=64)],
    start: Annotated[date, Form()],
    csrf: CsrfF = "",
) -> Response:
    """Close with the reasons typed; a refusal shows the checklist again with what blocks."""
    viewer.check_csrf(csrf)
    _company(viewer)
    form = await request.form()
    overrides = {
        item: str(form.get(f"override_{item}") or "").strip()
        for item in OVERRIDABLE
        if str(form.get(f"override_{item}") or "").strip()
    }
    try:
        with store.sessions.begin() as s:
            close_period(
                s, calendar, start, actor=viewer.principal.actor, now=utcnow(), overrides=overrides
            )
    except CloseBlocked as exc:
        with store.sessions.begin() as s:
            return _checklist_page(
                request,
                viewer,
                s,
                calendar,
                start,
                status=409,
                error=exc.detail,
                typed=overrides,
            )
    except DomainError as exc:
        raise PageError(exc.status, exc.detail) from None
    return RedirectResponse("/ui/periods?notice=closed", status_code=303)


@router.get("/periods/{period_id}/payroll")
def payroll_download(
    period_id: RowId,
    viewer: HrPage,
    store: StoreDep,
    profile: Annotated[str, Query(max_length=100)] = "generic-wide-en",
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The API's payroll export, for the signed-in page."""
    _company(viewer)
    with page_errors():
        return payroll_response(store, period_id, profile, format)
