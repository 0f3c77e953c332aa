"""Leave entries HR records: validated, audited, and the days they touch marked for recompute.

Every change marks the employee's affected days dirty in the same transaction (old and new
range on an update), up to tomorrow; later days are computed when they come (the close pass).
Quotas are days per type and calendar year; taken counts each entry's working days under
the policy in force (a full day 1, a half ½, hours pro rata), so weekends and holidays inside
a leave cost nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.audit import record
from collector.days.assign import mark_assignment_days
from collector.days.context import Context
from collector.errors import Conflict, InvalidInput, NotFound
from collector.masterdata.scope import Scope
from collector.store.models import Employee, Leave, LeaveQuota
from rules.leave import day_share
from rules.leavetypes import LEAVE_TYPES, DayLeave, LeavePart

MAX_SPAN_DAYS = 366  # one entry covers at most a year
# What a change may alter (employee and source stay).
EDITABLE = ("leave_type", "start_date", "end_date", "part", "start_time", "end_time", "note")


@dataclass(frozen=True, slots=True)
class LeaveInput:
    """A leave entry as HR enters or imports it."""

    leave_type: str  # a code of rules.leavetypes.LEAVE_TYPES
    start_date: date
    end_date: date | None = None  # inclusive; the start date when not given
    part: str = LeavePart.FULL.value  # full, am, pm, hours
    start_time: str = ""  # hours: "HH:MM"
    end_time: str = ""
    note: str = ""

    def checked(self) -> tuple[DayLeave, date]:
        """The entry as the engine reads it and its end date; InvalidInput names the problem."""
        end = self.end_date or self.start_date
        try:
            entry = DayLeave.of(self.leave_type, self.part, self.start_time, self.end_time)
        except ValueError as exc:
            raise InvalidInput(str(exc), field=_field_of(str(exc))) from None
        if end < self.start_date:
            raise InvalidInput("the leave ends before it starts", field="end_date")
        if (end - self.start_date).days >= MAX_SPAN_DAYS:
            raise InvalidInput("one leave entry covers at most a year", field="end_date")
        if entry.part is not LeavePart.FULL and end != self.start_date:
            raise InvalidInput("half-day and hourly leave covers one date", field="end_date")
        return entry, end

    def row(self, employee_id: int, *, actor: str, now: datetime, source: str) -> Leave:
        """A new, unsaved row for this entry; InvalidInput when the entry is impossible."""
        _, end = self.checked()
        hours = self.part == LeavePart.HOURS
        return Leave(
            employee_id=employee_id,
            leave_type=self.leave_type,
            start_date=self.start_date,
            end_date=end,
            part=self.part,
            start_time=self.start_time if hours else "",
            end_time=self.end_time if hours else "",
            note=self.note,
            source=source,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )


def _field_of(message: str) -> str:
    if "type" in message:
        return "leave_type"
    return "part" if "part" in message else "start_time"


def add_leave(
    session: Session,
    *,
    employee: Employee,
    data: LeaveInput,
    actor: str,
    now: datetime,
    source: str = "hr",
) -> Leave:
    """Record a leave entry; overlapping entries are refused, the days marked for recompute."""
    row = data.row(employee.id, actor=actor, now=now, source=source)
    _refuse_overlap(session, row)
    session.add(row)
    session.flush()
    _audit(session, "leave.add", row, actor, now, data.note, describe(row))
    _mark(session, row.employee_id, row.start_date, row.end_date, now)
    return row


def update_leave(
    session: Session, *, leave: Leave, data: LeaveInput, actor: str, now: datetime
) -> Leave:
    """Change an entry in place; the days of the old and the new range are recomputed."""
    new = data.row(leave.employee_id, actor=actor, now=now, source=leave.source)
    before = describe(leave)
    old = (leave.start_date, leave.end_date)
    for name in EDITABLE:
        setattr(leave, name, getattr(new, name))
    leave.updated_at = now
    _refuse_overlap(session, leave)
    session.flush()
    details = {"before": before, "after": describe(leave)}
    _audit(session, "leave.update", leave, actor, now, data.note, details)
    _mark(session, leave.employee_id, old[0], old[1], now)
    _mark(session, leave.employee_id, leave.start_date, leave.end_date, now)
    return leave


def delete_leave(session: Session, *, leave: Leave, reason: str, actor: str, now: datetime) -> None:
    """Remove an entry (kept in the audit log); its days are recomputed."""
    _audit(session, "leave.delete", leave, actor, now, reason, describe(leave))
    _mark(session, leave.employee_id, leave.start_date, leave.end_date, now)
    session.delete(leave)
    session.flush()


def list_leave(
    session: Session,
    *,
    scope: Scope,
    start: date,
    end: date,
    leave_type: str | None = None,
    employee_id: int | None = None,
) -> list[Leave]:
    """Entries overlapping [start, end] of the employees the scope sees."""
    query = select(Leave).where(Leave.start_date <= end, Leave.end_date >= start)
    if leave_type is not None:
        query = query.where(Leave.leave_type == leave_type)
    if employee_id is not None:
        query = query.where(Leave.employee_id == employee_id)
    query = scope.restrict(query, Leave.employee_id)
    return list(session.scalars(query.order_by(Leave.start_date, Leave.employee_id, Leave.id)))


def _audit(
    session: Session,
    action: str,
    row: Leave,
    actor: str,
    now: datetime,
    reason: str,
    details: dict[str, Any],
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        entity="leave",
        entity_id=row.id,
        now=now,
        reason=reason or None,
        details=details,
    )


def describe(row: Leave) -> dict[str, Any]:
    """An entry as the audit log and the API show it."""
    return {
        "employee_id": row.employee_id,
        "leave_type": row.leave_type,
        "start_date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "part": row.part,
        "start_time": row.start_time,
        "end_time": row.end_time,
    }


def overlaps(a: Leave, b: Leave) -> bool:
    """Two entries of one employee that claim the same time."""
    if a.end_date < b.start_date or b.end_date < a.start_date:
        return False
    if LeavePart.FULL in (a.part, b.part):
        return True
    if a.part != b.part:
        return False  # a morning and an afternoon, or hours beside a half
    return a.part != LeavePart.HOURS or (a.start_time < b.end_time and b.start_time < a.end_time)


def _refuse_overlap(session: Session, row: Leave) -> None:
    others = session.scalars(
        select(Leave).where(
            Leave.employee_id == row.employee_id,
            Leave.start_date <= row.end_date,
            Leave.end_date >= row.start_date,
        )
    )
    for other in others:
        if other is not row and other.id != row.id and overlaps(row, other):
            raise Conflict(
                f"overlaps leave #{other.id} ({other.leave_type}, {other.part}, "
                f"{other.start_date}–{other.end_date})"
            )


def _mark(session: Session, employee_id: int, start: date, end: date, now: datetime) -> None:
    last = min(end, now.date() + timedelta(days=1))  # later days are computed when they come
    if last >= start:
        mark_assignment_days(session.connection(), employee_id, start, last)


@dataclass(frozen=True, slots=True)
class QuotaLine:
    """One leave type's year for one employee."""

    leave_type: str
    year: int
    quota_days: float | None  # None: no quota set for this type
    taken_days: float  # working days of entries in the year (halves and hours pro rata)
    remaining_days: float | None


def quotas(session: Session, *, employee: Employee, year: int) -> list[QuotaLine]:
    """Every type with a quota or with leave taken in the year, with taken and remaining."""
    set_days = {
        q.leave_type: q.days
        for q in session.scalars(
            select(LeaveQuota).where(LeaveQuota.employee_id == employee.id, LeaveQuota.year == year)
        )
    }
    taken = taken_days(session, employee_id=employee.id, year=year)
    out = []
    for code in LEAVE_TYPES:
        if code not in set_days and code not in taken:
            continue
        quota = set_days.get(code)
        used = round(taken.get(code, 0.0), 3)
        out.append(
            QuotaLine(code, year, quota, used, None if quota is None else round(quota - used, 3))
        )
    return out


def taken_days(session: Session, *, employee_id: int, year: int) -> dict[str, float]:
    """Leave days taken (or booked) per type in a calendar year, under the policies in force."""
    return taken_between(
        session, employee_id=employee_id, start=date(year, 1, 1), end=date(year, 12, 31)
    )


def taken_between(
    session: Session, *, employee_id: int, start: date, end: date
) -> dict[str, float]:
    """Leave days taken (or booked) per type in [start, end]: a working day 1, a half ½, hours
    pro rata, rest days and holidays nothing (the quotas' own count)."""
    ctx = Context()
    conn = session.connection()
    ctx.load(conn, [employee_id])
    cal = ctx.calendar_of(employee_id)
    out: dict[str, float] = defaultdict(float)
    for (emp, day), entries in ctx.leaves.items():
        found = ctx.policy_on(emp, day) if start <= day <= end else None
        if found is not None:
            for entry in entries:
                out[entry.type.code] += day_share(found[1], cal, day, entry)
    return dict(out)


def set_quota(
    session: Session,
    *,
    employee: Employee,
    leave_type: str,
    year: int,
    days: float,
    actor: str,
    now: datetime,
) -> LeaveQuota:
    """Set an employee's yearly quota of a leave type (audited)."""
    if leave_type not in LEAVE_TYPES:
        raise NotFound(f"no leave type {leave_type!r}", field="leave_type")
    if days < 0:
        raise InvalidInput("a quota cannot be negative", field="days")
    row = session.scalar(
        select(LeaveQuota).where(
            LeaveQuota.employee_id == employee.id,
            LeaveQuota.leave_type == leave_type,
            LeaveQuota.year == year,
        )
    )
    if row is None:
        row = LeaveQuota(employee_id=employee.id, leave_type=leave_type, year=year, days=days)
        session.add(row)
    row.days = days
    session.flush()
    record(
        session,
        actor=actor,
        action="leave.quota",
        entity="employee",
        entity_id=employee.id,
        now=now,
        details={"leave_type": leave_type, "year": year, "days": days},
    )
    return row
