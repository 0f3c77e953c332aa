"""Punches: a filtered list (GPS detail for HR only) and HR's add and void forms."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RowId, SessionDep, StoreDep
from api.schemas.punches import punch_fields
from api.ui.params import Blank, DateQ, TextQ
from api.ui.render import page_errors, render
from api.ui.scope import PagePunch, PageZone
from api.ui.session import HrPage, ViewerPage
from collector import corrections
from collector.masterdata.employees import list_employees
from collector.normalize import zone
from collector.punchlist import PunchFilter, bound, list_punches
from collector.runtime import utcnow
from rules.vocabulary import PunchState, SourceKind

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE = 50
STATES = ("in", "out", "break_out", "break_in", "overtime_in", "overtime_out")
ReasonF = Annotated[str, Form(min_length=3, max_length=2000)]
CsrfF = Annotated[str, Form(max_length=100)]


@router.get("/punches", response_class=HTMLResponse)
def punches_page(
    request: Request,
    viewer: ViewerPage,
    tz: PageZone,
    session: SessionDep,
    employee_code: TextQ = None,
    department: TextQ = None,
    device: TextQ = None,
    source_kind: Annotated[SourceKind | None, Blank, Query()] = None,
    since: DateQ = None,
    until: DateQ = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    notice: Annotated[str | None, Query(pattern="^(added|voided_ok)$")] = None,
) -> Response:
    """Newest first, filtered; dates are local dates of the sites' zone (until inclusive)."""
    p = viewer.principal
    filters = PunchFilter(
        employee_code=employee_code or None,
        department=department or None,
        device=device or None,
        source_kind=source_kind,
        since=bound(since, tz),
        until=bound(until, tz, end=True),
        scope=p.scope,
    )
    with page_errors():
        found = list_punches(session, filters=filters, cursor=cursor, descending=True, limit=PAGE)
    rows = [punch_fields(r, private=p.sees_private) for r in found.items]
    voided = {r["voids_punch_id"] for r in rows if r["state"] == PunchState.VOID.value}
    hr = p.sees_private
    return render(
        request,
        "punches.html",
        viewer,
        rows=rows,
        voided=voided,
        next_cursor=found.next_cursor,
        hr=hr,
        people=list_employees(session, scope=p.scope, limit=1000) if hr else [],
        states=STATES,
        kinds=[k.value for k in SourceKind],
        idempotency=uuid.uuid4().hex,
        notice=notice,
        now_local=utcnow().astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M"),
        tz=tz,
        page="punches",
    )


@router.post("/punches/add")
def add_punch(
    viewer: HrPage,
    store: StoreDep,
    employee_id: Annotated[RowId, Form()],
    timestamp: Annotated[datetime, Form()],
    state: Annotated[str, Form(pattern="^(in|out|break_out|break_in|overtime_in|overtime_out)$")],
    reason: ReasonF,
    csrf: CsrfF = "",
    idempotency_key: Annotated[str | None, Form(min_length=8, max_length=200)] = None,
) -> Response:
    """Add a missing punch; a time without offset is the employee's site time."""
    viewer.check_csrf(csrf)
    with page_errors(), store.sessions.begin() as s:
        punch, _ = corrections.add_punch(
            s,
            employee_id=employee_id,
            timestamp=timestamp,
            state=PunchState(state),
            reason=reason,
            actor=viewer.principal.actor,
            now=utcnow(),
            policy=store.policy,
            scope=viewer.principal.scope,
            idempotency_key=idempotency_key,
        )
        # The list shows that employee's local day, so a punch dated back is on the page.
        day = punch.local_date.isoformat()
        shown = urlencode(
            {"notice": "added", "employee_code": punch.employee_code, "since": day, "until": day}
        )
        target = f"/ui/punches?{shown}#punch-{punch.id}"
    return RedirectResponse(target, status_code=303)


@router.post("/punches/{punch_id}/void")
def void_punch(
    punch: PagePunch,
    viewer: HrPage,
    store: StoreDep,
    reason: ReasonF,
    csrf: CsrfF = "",
) -> Response:
    """Void a wrong punch with a reason; the original stays stored."""
    viewer.check_csrf(csrf)
    with page_errors(), store.sessions.begin() as s:
        corrections.void_punch(
            s,
            punch_id=punch.id,
            reason=reason,
            actor=viewer.principal.actor,
            now=utcnow(),
            policy=store.policy,
            scope=viewer.principal.scope,
        )
    return RedirectResponse("/ui/punches?notice=voided_ok", status_code=303)
