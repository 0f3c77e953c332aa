"""Leave: types, HR's entries per employee, and yearly quotas with taken and remaining."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import HrKey, ViewerKey
from api.deps import SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.leave import LeavePublic, LeaveTypePublic, LeaveWrite, QuotaPublic, QuotaWrite
from api.scope import HrEmployee, HrEmployeeTx, HrLeave
from collector.runtime import utcnow
from collector.workforce import leave as service
from rules.leavetypes import LEAVE_TYPES

router = APIRouter(tags=["leave"], responses=PROBLEM_RESPONSES)


@router.get("/leave-types")
def leave_types(key: ViewerKey) -> list[LeaveTypePublic]:
    """The leave types and how each counts (worked, target, balance, punches)."""
    return [LeaveTypePublic.of(t) for t in LEAVE_TYPES.values()]


@router.get("/leave")
def leave_list(
    key: HrKey,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    leave_type: Annotated[str | None, Query(max_length=32)] = None,
) -> list[LeavePublic]:
    """Entries overlapping the period, of the employees the key sees."""
    rows = service.list_leave(session, scope=key.scope, start=start, end=end, leave_type=leave_type)
    return [LeavePublic.of(r) for r in rows]


@router.get("/employees/{employee_id}/leave")
def employee_leave(
    employee: HrEmployee,
    session: SessionDep,
    key: HrKey,
    start: Annotated[date, Query(alias="from")] = date.min,
    end: Annotated[date, Query(alias="to")] = date.max,
) -> list[LeavePublic]:
    """One employee's entries overlapping the period (all by default)."""
    rows = service.list_leave(
        session, scope=key.scope, start=start, end=end, employee_id=employee.id
    )
    return [LeavePublic.of(r) for r in rows]


@router.post("/employees/{employee_id}/leave", status_code=201)
def add_leave(body: LeaveWrite, employee: HrEmployeeTx, key: HrKey, session: TxDep) -> LeavePublic:
    """Record leave; overlapping entries are refused, the affected days recomputed."""
    row = service.add_leave(
        session, employee=employee, data=body.data(), actor=key.actor, now=utcnow()
    )
    return LeavePublic.of(row)


@router.put("/leave/{leave_id}")
def update_leave(body: LeaveWrite, leave: HrLeave, key: HrKey, session: TxDep) -> LeavePublic:
    """Change an entry; the days of the old and the new range are recomputed."""
    row = service.update_leave(
        session, leave=leave, data=body.data(), actor=key.actor, now=utcnow()
    )
    return LeavePublic.of(row)


@router.delete("/leave/{leave_id}", status_code=204)
def delete_leave(
    leave: HrLeave,
    key: HrKey,
    session: TxDep,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """Remove an entry (kept in the audit log); its days are recomputed."""
    service.delete_leave(session, leave=leave, reason=reason, actor=key.actor, now=utcnow())
    return Response(status_code=204)


@router.get("/employees/{employee_id}/leave-quotas")
def leave_quotas(
    employee: HrEmployee,
    session: SessionDep,
    year: Annotated[int, Query(ge=1970, le=2100)],
) -> list[QuotaPublic]:
    """Per leave type: the year's quota, days taken or booked, and what remains."""
    return [QuotaPublic.of(q) for q in service.quotas(session, employee=employee, year=year)]


@router.put("/employees/{employee_id}/leave-quotas/{leave_type}")
def set_leave_quota(
    body: QuotaWrite,
    employee: HrEmployeeTx,
    key: HrKey,
    session: TxDep,
    leave_type: str,
    year: Annotated[int, Query(ge=1970, le=2100)],
) -> QuotaPublic:
    """Set the year's quota of a leave type for the employee."""
    service.set_quota(
        session,
        employee=employee,
        leave_type=leave_type,
        year=year,
        days=body.days,
        actor=key.actor,
        now=utcnow(),
    )
    line = next(
        q
        for q in service.quotas(session, employee=employee, year=year)
        if q.leave_type == leave_type
    )
    return QuotaPublic.of(line)
