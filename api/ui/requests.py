"""The requests inbox: pending requests of the visitor's scope, approved or rejected in place."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import RowId, SessionDep, StoreDep
from api.ui.render import render
from api.ui.session import ManagerPage, Viewer
from collector.errors import DomainError
from collector.runtime import Store, utcnow
from collector.store.models import Employee
from collector.workforce import requests as service
from rules.requests import RequestAction, RequestState

router = APIRouter(prefix="/ui", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Comment = Annotated[str, Form(max_length=2000)]
NOTICES = "^(request_approved|request_rejected)$"


def _inbox(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    shown: RequestState = RequestState.PENDING,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    scope = viewer.principal.scope
    rows = service.list_requests(session, scope=scope, state=shown)
    ids = {r.employee_id for r in rows} | {r.other_employee_id for r in rows} - {None}
    people = {
        e.id: e
        for e in session.scalars(select(Employee).where(Employee.id.in_(ids)))
        if scope.admits(e)
    }
    return render(
        request,
        "requests.html",
        viewer,
        status=status,
        rows=rows,
        people=people,
        shown=shown.value,
        states=[s.value for s in RequestState],
        page="requests",
        **context,
    )


@router.get("/requests", response_class=HTMLResponse)
def requests_page(
    request: Request,
    viewer: ManagerPage,
    session: SessionDep,
    notice: Annotated[str | None, Query(pattern=NOTICES)] = None,
    show: RequestState = RequestState.PENDING,
) -> Response:
    """Pending requests oldest first, each with approve and reject forms; or decided ones."""
    return _inbox(request, viewer, session, shown=show, notice=notice)


def _decide(
    request: Request,
    viewer: Viewer,
    session: Session,
    store: Store,
    request_id: int,
    action: RequestAction,
    comment: str,
    csrf: str,
) -> Response:
    viewer.check_csrf(csrf)
    principal = viewer.principal
    try:
        with store.sessions.begin() as s:
            row = principal.scope.request(s, request_id)
            service.decide(
                s,
                request=row,
                action=action,
                comment=comment,
                actor=principal.actor,
                now=utcnow(),
                scope=principal.scope,
                policy=store.policy,
            )
    except DomainError as exc:
        # The inbox again with the refusal on top: the navigation and the forms stay.
        return _inbox(request, viewer, session, status=exc.status, error=exc.detail)
    done = "approved" if action is RequestAction.APPROVE else "rejected"
    return RedirectResponse(f"/ui/requests?notice=request_{done}", status_code=303)


@router.post("/requests/{request_id}/approve")
def approve(
    request_id: RowId,
    request: Request,
    viewer: ManagerPage,
    session: SessionDep,
    store: StoreDep,
    comment: Comment = "",
    csrf: Csrf = "",
) -> Response:
    """Approve one request (its punch, leave or roster change is stored); audited."""
    return _decide(
        request, viewer, session, store, request_id, RequestAction.APPROVE, comment, csrf
    )


@router.post("/requests/{request_id}/reject")
def reject(
    request_id: RowId,
    request: Request,
    viewer: ManagerPage,
    session: SessionDep,
    store: StoreDep,
    comment: Comment = "",
    csrf: Csrf = "",
) -> Response:
    """Reject one request with a comment; audited."""
    return _decide(request, viewer, session, store, request_id, RequestAction.REJECT, comment, csrf)
