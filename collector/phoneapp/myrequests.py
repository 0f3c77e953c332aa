"""The app's "my requests": the bound phone's employee asks, lists and withdraws their own.

Asking goes through `collector.workforce.requests.create_request`, the service HR's API
uses (same checks, limits, audit); the employee is always the phone's, never one named by
the phone, and the actor is the phone (`app-device:<id>`). Withdrawing is the service's
cancel; a request that is not this employee's, or no longer pending, is not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import InvalidInput, NotFound
from collector.masterdata.scope import Scope
from collector.normalize import NormalizePolicy
from collector.phoneapp.devices import BoundPhone
from collector.store.models import Employee, EmployeeRequest
from collector.workforce import requests as service
from rules.requests import RequestAction, RequestKind, RequestState

MINE_LIMIT = 100  # the list shows at most this many, newest first
APP_KINDS = (RequestKind.MISSED_PUNCH, RequestKind.LEAVE, RequestKind.BUSINESS_TRIP)


@dataclass(frozen=True, slots=True)
class MyRequest:
    """One of the employee's requests as the app lists it."""

    id: int
    kind: str  # a RequestKind
    state: str  # a RequestState
    date: dt.date  # the (first) day it concerns
    end_date: dt.date
    details: dict[str, Any]  # what was asked (time and direction, or leave type and part)
    reason: str
    created_at: datetime
    decided_at: datetime | None
    comment: str  # the decider's words
    cancellable: bool


def actor_of(phone: BoundPhone) -> str:
    """Who the audit log names for what a phone does."""
    return f"app-device:{phone.device_id}"


def of(row: EmployeeRequest) -> MyRequest:
    """The app's view of a stored request."""
    return MyRequest(
        id=row.id,
        kind=row.kind,
        state=row.state,
        date=row.local_date,
        end_date=row.end_date,
        details=service.asked(row),
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
        comment=row.comment,
        cancellable=row.state == RequestState.PENDING.value,
    )


def my_requests(session: Session, *, phone: BoundPhone, limit: int = MINE_LIMIT) -> list[MyRequest]:
    """The phone's employee's requests, newest first."""
    rows = session.scalars(
        select(EmployeeRequest)
        .where(EmployeeRequest.employee_id == phone.employee_id)
        .order_by(EmployeeRequest.created_at.desc(), EmployeeRequest.id.desc())
        .limit(limit)
    )
    return [of(r) for r in rows]


def ask(
    session: Session,
    *,
    phone: BoundPhone,
    data: service.RequestInput,
    key: str,
    now: datetime,
    policy: NormalizePolicy,
) -> MyRequest:
    """Ask for the phone's employee through the one create service; a retried key finds its own."""
    if data.kind not in APP_KINDS:
        raise InvalidInput(f"the app does not ask for {data.kind.value}", field="kind")
    employee = session.get_one(Employee, phone.employee_id)
    row = service.create_request(
        session,
        employee=employee,
        data=data,
        actor=actor_of(phone),
        now=now,
        scope=Scope(),
        policy=policy,
        idempotency_key=key,
    )
    return of(row)


def cancel_mine(
    session: Session,
    *,
    phone: BoundPhone,
    request_id: int,
    now: datetime,
    policy: NormalizePolicy,
) -> MyRequest:
    """Withdraw one's own pending request; anything else is not found (404)."""
    row = session.scalars(
        select(EmployeeRequest).where(
            EmployeeRequest.id == request_id,
            EmployeeRequest.employee_id == phone.employee_id,
            EmployeeRequest.state == RequestState.PENDING.value,
        )
    ).first()
    if row is None:
        raise NotFound(f"no pending request {request_id} of yours")
    done = service.decide(
        session,
        request=row,
        action=RequestAction.CANCEL,
        comment="",
        actor=actor_of(phone),
        now=now,
        scope=Scope(),
        policy=policy,
    )
    return of(done)
