"""Attendance summary per employee for a period: day counts, leave by type, hours, overtime."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, Subquery, and_, case, func, literal, select

from collector.masterdata.scope import Scope
from collector.reports.common import Report, check_period, count_if, hours
from collector.store.models import AttendanceDay, Department, Employee, EmployeeRequest
from rules.leavetypes import LEAVE_TYPES, TRIP_TYPES
from rules.requests import RequestKind, RequestState
from rules.vocabulary import DayStatus, OvertimeCategory

A, E, D = AttendanceDay, Employee, Department
STATUS_COLUMNS = {
    "present_days": (DayStatus.PRESENT, DayStatus.LATE),
    "late_days": (DayStatus.LATE,),
    "half_days": (DayStatus.HALF_DAY,),
    "incomplete_days": (DayStatus.INCOMPLETE,),
    "absent_days": (DayStatus.ABSENT,),
    "holiday_days": (DayStatus.HOLIDAY,),
    "rest_days": (DayStatus.REST_DAY,),
    "provisional_days": (DayStatus.PROVISIONAL,),
}
# Days with status leave:<type>: all leave but trips, each type (trips included), trips.
LEAVE_COLUMNS = {
    "leave_days": tuple(t for t in LEAVE_TYPES if t not in TRIP_TYPES),
    **{f"leave_{code}_days": (code,) for code in LEAVE_TYPES},
    "business_trip_days": TRIP_TYPES,
}
OVERTIME_COLUMNS = {f"overtime_{c.value}_hours": c for c in OvertimeCategory}
COLUMNS = (
    "employee_id",
    "employee_code",
    "name",
    "department",
    *STATUS_COLUMNS,
    *LEAVE_COLUMNS,
    "worked_hours",
    "break_hours",
    *OVERTIME_COLUMNS,
    # Of all overtime: the part approved in advance (an overtime request, up to what was
    # worked), and the rest. Under a policy counting only approved overtime the rest is 0.
    "overtime_approved_hours",
    "overtime_unapproved_hours",
    "flexitime_balance_hours",
)


def attendance_summary(conn: Connection, *, start: date, end: date, scope: Scope) -> Report:
    """One row per employee with a computed day in the period, by employee code."""
    check_period(start, end)
    statuses = [
        count_if(A.status.in_([s.value for s in group])).label(name)
        for name, group in STATUS_COLUMNS.items()
    ]
    statuses += [
        count_if(A.status.in_([f"leave:{t}" for t in types])).label(name)
        for name, types in LEAVE_COLUMNS.items()
    ]
    overtime = [
        func.coalesce(func.sum(A.overtime[cat.value].as_integer()), 0).label(name)
        for name, cat in OVERTIME_COLUMNS.items()
    ]
    day_overtime = sum(
        (func.coalesce(A.overtime[cat.value].as_integer(), 0) for cat in OvertimeCategory),
        literal(0),
    )
    asked = approved_overtime_s(start, end)
    granted = case(
        (asked.c.seconds.is_(None), 0),
        (day_overtime < asked.c.seconds, day_overtime),
        else_=asked.c.seconds,
    )
    # Aggregate by the integer key, then join names to the per-employee rows.
    inner = (
        select(
            A.employee_id.label("employee_id"),
            *statuses,
            func.coalesce(func.sum(A.worked_s), 0).label("worked"),
            func.coalesce(func.sum(A.break_s), 0).label("breaks"),
            *overtime,
            func.coalesce(func.sum(granted), 0).label("approved"),
            func.coalesce(func.sum(day_overtime - granted), 0).label("unapproved"),
            func.coalesce(func.sum(A.balance_delta_s), 0).label("balance"),
        )
        .select_from(A)
        .outerjoin(
            asked,
            and_(asked.c.employee_id == A.employee_id, asked.c.local_date == A.local_date),
        )
        .where(A.local_date >= start, A.local_date <= end)
        .group_by(A.employee_id)
    )
    g = scope.restrict(inner, A.employee_id).subquery()
    measures = [c for c in g.c if c.name != "employee_id"]
    query = (
        select(E.id, E.code, E.name, D.code, *measures)
        .select_from(g)
        .join(E, E.id == g.c.employee_id)
        .outerjoin(D, D.id == E.department_id)
        .order_by(E.code)
    )
    return Report(
        name="attendance-summary",
        columns=COLUMNS,
        rows=_shape(conn.execute(query)),
        meta={"from": start.isoformat(), "to": end.isoformat()},
    )


def approved_overtime_s(start: date, end: date) -> Subquery:
    """Seconds of overtime approved in advance per employee and day (approved requests)."""
    R = EmployeeRequest
    return (
        select(
            R.employee_id.label("employee_id"),
            R.local_date.label("local_date"),
            (func.sum(R.details["minutes"].as_integer()) * 60).label("seconds"),
        )
        .where(
            R.kind == RequestKind.OVERTIME.value,
            R.state == RequestState.APPROVED.value,
            R.local_date >= start,
            R.local_date <= end,
        )
        .group_by(R.employee_id, R.local_date)
        .subquery()
    )


def _shape(rows: Any) -> Iterator[tuple[Any, ...]]:
    n_status = len(STATUS_COLUMNS) + len(LEAVE_COLUMNS)
    for row in rows:
        head = tuple(row[:4])
        counts = tuple(int(v or 0) for v in row[4 : 4 + n_status])
        seconds = row[4 + n_status :]
        yield (*head, *counts, *(hours(v) for v in seconds))
