"""Employee requests: hr asks on an employee's behalf; hr or the department's manager decides."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.auth import HrKey, ManagerKey, Principal
from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.requests import Decision, RequestPublic, RequestWrite
from api.scope import HrEmployeeTx, HrRequestTx, ManagerRequest, ManagerRequestTx
from collector.runtime import Store, utcnow
from collector.store.models import EmployeeRequest
from collector.workforce import requests as service
from rules.requests import RequestAction, RequestKind, RequestState

router = APIRouter(tags=["requests"], responses=PROBLEM_RESPONSES)


@router.post("/employees/{employee_id}/requests", status_code=201)
def create_request(
    body: RequestWrite, employee: HrEmployeeTx, key: HrKey, session: TxDep, store: StoreDep
) -> RequestPublic:
    """Ask on the employee's behalf; refused beyond the policy's monthly limit (409)."""
    row = service.create_request(
        session,
        employee=employee,
        data=body.data(),
        actor=key.actor,
        now=utcnow(),
        scope=key.scope,
        policy=store.policy,
    )
    return RequestPublic.of(row)


@router.get("/requests")
def list_requests(
    key: ManagerKey,
    session: SessionDep,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    employee_id: RowId | None = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> list[RequestPublic]:
    """Requests of the employees the key sees, oldest first (at most 500)."""
    rows = service.list_requests(
        session,
        scope=key.scope,
        state=state,
        kind=kind,
        department=department,
        employee_id=employee_id,
        start=start,
        end=end,
    )
    return [RequestPublic.of(r) for r in rows]


@router.get("/requests/{request_id}")
def get_request(request: ManagerRequest) -> RequestPublic:
    """One request with its decision and what approval stored."""
    return RequestPublic.of(request)


def _decide(
    request: EmployeeRequest,
    action: RequestAction,
    body: Decision | None,
    key: Principal,
    session: Session,
    store: Store,
) -> RequestPublic:
    row = service.decide(
        session,
        request=request,
        action=action,
        comment="" if body is None else body.comment,
        actor=key.actor,
        now=utcnow(),
        scope=key.scope,
        policy=store.policy,
    )
    return RequestPublic.of(row)


@router.post("/requests/{request_id}/approve")
def approve_request(
    request: ManagerRequestTx,
    key: ManagerKey,
    session: TxDep,
    store: StoreDep,
    body: Decision | None = None,
) -> RequestPublic:
    """Approve a pending request and store its effect; a decided one is a 409."""
    return _decide(request, RequestAction.APPROVE, body, key, session, store)


@router.post("/requests/{request_id}/reject")
def reject_request(
    request: ManagerRequestTx,
    key: ManagerKey,
    session: TxDep,
    store: StoreDep,
    body: Decision | None = None,
) -> RequestPublic:
    """Reject a pending request with a comment; a decided one is a 409."""
    return _decide(request, RequestAction.REJECT, body, key, session, store)


@router.post("/requests/{request_id}/cancel")
def cancel_request(
    request: HrRequestTx,
    key: HrKey,
    session: TxDep,
    store: StoreDep,
    body: Decision | None = None,
) -> RequestPublic:
    """Withdraw a pending request on the employee's behalf; a decided one is a 409."""
    return _decide(request, RequestAction.CANCEL, body, key, session, store)
