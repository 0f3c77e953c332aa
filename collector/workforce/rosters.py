"""Roster storage: shift types, patterns, their assignments and day entries; changes mark days.

Every change marks the employee-days it can alter dirty, with a day either side (a shift's
window is cut against its neighbours'), so the days worker recomputes them. Shift types
and patterns are shared master data; assignments and day entries go through the caller's
department `Scope`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.days.context import CHUNK, as_date, mark, query
from collector.days.roster_book import RosterBook
from collector.errors import Conflict, InvalidInput, NotFound
from collector.masterdata.common import apply, fetch, flush
from collector.masterdata.scope import Scope
from collector.store.ingest import db_date, mark_dirty
from collector.store.models import (
    Department,
    Employee,
    RosterAssignment,
    RosterDay,
    ShiftPattern,
    ShiftType,
)
from rules.schema import PolicyError
from rules.shifts import REST_CODES, make_pattern, parse_shift_type

MAX_RANGE_DAYS = 62  # the resolved roster is asked for at most two months at a time
_ONE = timedelta(days=1)


# Shift types -------------------------------------------------------------------------


def _shift_document(values: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = parse_shift_type(values)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field="document") from exc
    return doc.model_dump(mode="json", exclude_none=True)


def list_shift_types(session: Session) -> list[ShiftType]:
    """All shift types by code."""
    return list(session.scalars(select(ShiftType).order_by(ShiftType.code)))


def create_shift_type(
    session: Session, *, scope: Scope, document: dict[str, Any], now: datetime
) -> ShiftType:
    """Add a shift type the rules accept (shared master data: unscoped keys only)."""
    scope.check_everyone("a shift type")
    doc = _shift_document(document)
    row = ShiftType(code=doc["code"], name=doc.get("name", ""), document=doc, updated_at=now)
    session.add(row)
    flush(session, f"shift type {doc['code']!r}")
    return row


def update_shift_type(
    session: Session, *, scope: Scope, type_id: int, document: dict[str, Any], now: datetime
) -> ShiftType:
    """Change a shift type (its code stays); every rostered day using it is recomputed."""
    scope.check_everyone("a shift type")
    row = fetch(session, ShiftType, type_id, "shift type")
    doc = _shift_document({**document, "code": row.code})
    row.document, row.name, row.updated_at = doc, doc.get("name", ""), now
    flush(session, f"shift type {row.code!r}")
    _mark_code(session, row.code)
    return row


def delete_shift_type(session: Session, *, scope: Scope, type_id: int) -> None:
    """Remove a shift type no pattern or roster day uses."""
    scope.check_everyone("a shift type")
    row = fetch(session, ShiftType, type_id, "shift type")
    if _patterns_using(session, row.code) or session.scalar(
        select(RosterDay.id).where(RosterDay.code == row.code).limit(1)
    ):
        raise Conflict(f"shift type {row.code!r} is still rostered")
    session.delete(row)
    flush(session, f"shift type {row.code!r}")


def _known_codes(session: Session) -> set[str]:
    return set(session.scalars(select(ShiftType.code)))


def _patterns_using(session: Session, code: str) -> list[ShiftPattern]:
    return [p for p in session.scalars(select(ShiftPattern)) if code in p.codes]


def _mark_code(session: Session, code: str) -> None:
    conn = session.connection()
    days: set[tuple[int, date]] = set()
    for p in _patterns_using(session, code):
        days |= _pattern_days(session, p.id)
    for emp, day in session.execute(
        select(RosterDay.employee_id, RosterDay.local_date).where(RosterDay.code == code)
    ):
        days |= {(emp, day - _ONE), (emp, day), (emp, day + _ONE)}
    mark_dirty(conn, days)


# Patterns ----------------------------------------------------------------------------


def _pattern_values(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    try:
        p = make_pattern(
            values["name"],
            values["kind"],
            values["codes"],
            values.get("anchor"),
            _known_codes(session),
        )
    except PolicyError as exc:
        raise InvalidInput(str(exc), field="codes") from exc
    return {"name": p.name, "kind": p.kind.value, "codes": list(p.codes), "anchor": p.anchor}


def list_patterns(session: Session) -> list[ShiftPattern]:
    """All patterns by name."""
    return list(session.scalars(select(ShiftPattern).order_by(ShiftPattern.name)))


def create_pattern(
    session: Session, *, scope: Scope, values: dict[str, Any], now: datetime
) -> ShiftPattern:
    """Add a pattern whose codes are known shift types or rest."""
    scope.check_everyone("a shift pattern")
    row = ShiftPattern(updated_at=now, **_pattern_values(session, values))
    session.add(row)
    flush(session, f"pattern {values['name']!r}")
    return row


def update_pattern(
    session: Session, *, scope: Scope, pattern_id: int, values: dict[str, Any], now: datetime
) -> ShiftPattern:
    """Change a pattern; the days of everyone it is assigned to are recomputed."""
    scope.check_everyone("a shift pattern")
    row = fetch(session, ShiftPattern, pattern_id, "pattern")
    current = {"name": row.name, "kind": row.kind, "codes": row.codes, "anchor": row.anchor}
    apply(row, _pattern_values(session, {**current, **values}))
    row.updated_at = now
    flush(session, f"pattern {row.name!r}")
    mark_dirty(session.connection(), _pattern_days(session, pattern_id))
    return row


def delete_pattern(session: Session, *, scope: Scope, pattern_id: int) -> None:
    """Remove a pattern no assignment refers to."""
    scope.check_everyone("a shift pattern")
    row = fetch(session, ShiftPattern, pattern_id, "pattern")
    if session.scalar(select(RosterAssignment.id).where(RosterAssignment.pattern_id == pattern_id)):
        raise Conflict(f"pattern {row.name!r} is still assigned")
    session.delete(row)
    flush(session, f"pattern {row.name!r}")


def _pattern_days(session: Session, pattern_id: int) -> set[tuple[int, date]]:
    days: set[tuple[int, date]] = set()
    for a in session.scalars(
        select(RosterAssignment).where(RosterAssignment.pattern_id == pattern_id)
    ):
        days |= _assignment_days(session, a)
    return days


# Assignments -------------------------------------------------------------------------


def _members(session: Session, a: RosterAssignment) -> list[int]:
    if a.employee_id is not None:
        return [a.employee_id]
    return list(
        session.scalars(select(Employee.id).where(Employee.department_id == a.department_id))
    )


def _assignment_days(session: Session, a: RosterAssignment) -> set[tuple[int, date]]:
    return stored_days(session.connection(), _members(session, a), a.effective_from, a.effective_to)


def stored_days(
    conn: Connection, employee_ids: list[int], start: date, end: date | None
) -> set[tuple[int, date]]:
    """Days in [start − 1, end + 1] holding punches or a computed day for these employees."""
    m = mark(conn)
    dialect = conn.dialect.name
    params = [db_date(start - _ONE, dialect)]
    upper = ""
    if end is not None:
        upper = f" AND local_date <= {m}"
        params.append(db_date(end + _ONE, dialect))
    out: set[tuple[int, date]] = set()
    for i in range(0, len(employee_ids), CHUNK):
        chunk = employee_ids[i : i + CHUNK]
        for table in ("punches", "attendance_days"):
            for emp, day in query(
                conn,
                f"SELECT DISTINCT employee_id, local_date FROM {table}"
                f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
                f" AND local_date >= {m}{upper}",
                [*chunk, *params],
            ):
                out.add((emp, as_date(day)))
    return out


def list_assignments(
    session: Session, *, employee: Employee | None = None, department_id: int | None = None
) -> list[RosterAssignment]:
    """The pattern assignments of one employee or one department, oldest first."""
    q = select(RosterAssignment)
    if employee is not None:
        q = q.where(RosterAssignment.employee_id == employee.id)
    else:
        q = q.where(RosterAssignment.department_id == department_id)
    return list(session.scalars(q.order_by(RosterAssignment.effective_from)))


def department_in_scope(session: Session, scope: Scope, dept_id: int) -> Department:
    """The department `dept_id` if the scope sees it; NotFound, as for no such id, if not."""
    found = session.get(Department, dept_id)
    if found is None or (scope.department_id is not None and scope.department_id != dept_id):
        raise NotFound(f"no department {dept_id}")
    return found


def assign_pattern(
    session: Session,
    *,
    pattern_id: int,
    effective_from: date,
    effective_to: date | None,
    employee: Employee | None = None,
    department: Department | None = None,
) -> RosterAssignment:
    """Roster an employee or a department on a pattern from a date; the days are recomputed."""
    fetch(session, ShiftPattern, pattern_id, "pattern")
    if effective_to is not None and effective_to < effective_from:
        raise InvalidInput("effective_to is before effective_from", field="effective_to")
    row = RosterAssignment(
        pattern_id=pattern_id,
        employee_id=None if employee is None else employee.id,
        department_id=None if department is None else department.id,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    session.add(row)
    flush(session, f"roster assignment from {effective_from}")
    mark_dirty(session.connection(), _assignment_days(session, row))
    return row


def assignment_in_scope(session: Session, scope: Scope, assignment_id: int) -> RosterAssignment:
    """The roster assignment if its employee or department is in the scope; NotFound if not."""
    found = session.get(RosterAssignment, assignment_id)
    if found is not None and not scope.everyone:
        if found.employee_id is not None:
            visible = scope.admits(session.get(Employee, found.employee_id))
        else:
            visible = found.department_id == scope.department_id
        found = found if visible else None
    if found is None:
        raise NotFound(f"no roster assignment {assignment_id}")
    return found


def delete_assignment(session: Session, *, row: RosterAssignment) -> None:
    """Remove a roster assignment; the days it covered are recomputed."""
    days = _assignment_days(session, row)
    session.delete(row)
    flush(session, f"roster assignment {row.id}")
    mark_dirty(session.connection(), days)


# Day entries -------------------------------------------------------------------------


def set_day(session: Session, *, employee: Employee, day: date, code: str, note: str) -> RosterDay:
    """Roster one employee-day explicitly (a swap, an extra shift, a day off)."""
    if code not in REST_CODES and code not in _known_codes(session):
        raise InvalidInput(f"unknown shift code {code!r}", field="code")
    row = session.scalar(
        select(RosterDay).where(RosterDay.employee_id == employee.id, RosterDay.local_date == day)
    )
    if row is None:
        row = RosterDay(employee_id=employee.id, local_date=day, code=code, note=note)
        session.add(row)
    else:
        row.code, row.note = code, note
    flush(session, f"roster day {day}")
    mark_dirty(session.connection(), {(employee.id, day + k * _ONE) for k in (-1, 0, 1)})
    return row


def clear_day(session: Session, *, employee: Employee, day: date) -> None:
    """Remove an explicit roster entry: the pattern plans the day again."""
    row = session.scalar(
        select(RosterDay).where(RosterDay.employee_id == employee.id, RosterDay.local_date == day)
    )
    if row is None:
        raise NotFound(f"no roster entry on {day}")
    session.delete(row)
    flush(session, f"roster day {day}")
    mark_dirty(session.connection(), {(employee.id, day + k * _ONE) for k in (-1, 0, 1)})


# The resolved roster -----------------------------------------------------------------


def resolved_roster(
    session: Session, *, department: Department, start: date, end: date
) -> list[dict[str, Any]]:
    """Each employee of the department with the planned code per date and where it came from."""
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"give a range of 1 to {MAX_RANGE_DAYS} days", field="to")
    employees = list(
        session.scalars(
            select(Employee)
            .where(Employee.department_id == department.id, Employee.deleted_at.is_(None))
            .order_by(Employee.code)
        )
    )
    book = RosterBook()
    book.load(session.connection(), [e.id for e in employees], start, end)
    span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    out = []
    for emp in employees:
        roster = book.of(emp.id)
        days: list[dict[str, Any]] = []
        for day in span:
            planned = None if roster is None else roster.planned(day)
            if planned is None:
                days.append(
                    {"date": day, "code": None, "source": None, "pattern": None, "rest": False}
                )
                continue
            code, source, assignment = planned
            days.append(
                {
                    "date": day,
                    "code": code,
                    "source": source.value,
                    "pattern": None if assignment is None else assignment.pattern.name,
                    "rest": code in REST_CODES or _is_rest(book, code),
                }
            )
        out.append({"employee_id": emp.id, "code": emp.code, "name": emp.name, "days": days})
    return out


def _is_rest(book: RosterBook, code: str | None) -> bool:
    st = None if code is None else book.rostering.shift_type(code)
    return st is not None and st.rest
