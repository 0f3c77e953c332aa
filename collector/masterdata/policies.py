"""Policies (documents stored as JSON) and effective-dated assignments; changes mark days dirty."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, exists, select, text
from sqlalchemy.orm import Session

from collector.errors import Conflict, InvalidInput
from collector.masterdata.common import apply, fetch, flush
from collector.store.ingest import db_date, mark_dirty
from collector.store.models import AttendanceDay, Employee, Policy, PolicyAssignment
from rules.schema import PolicyError, parse_document


def list_policies(session: Session) -> list[Policy]:
    """All policies by name."""
    return list(session.scalars(select(Policy).order_by(Policy.name)))


def _validate(kind: str, document: dict[str, Any]) -> None:
    """Check a policy document with the rules engine; its message names every problem."""
    try:
        parse_document(kind, document)
    except PolicyError as exc:
        raise InvalidInput(str(exc), field="document") from exc


def create_policy(session: Session, *, values: dict[str, Any], now: datetime) -> Policy:
    """Add a policy whose document the rules engine accepts."""
    _validate(values.get("kind", ""), values.get("document") or {})
    policy = Policy(updated_at=now)
    apply(policy, values)
    session.add(policy)
    flush(session, f"policy {values.get('name')!r}")
    return policy


def update_policy(
    session: Session, *, policy_id: int, values: dict[str, Any], now: datetime
) -> Policy:
    """Change a policy; every day computed under it or assigned to it is recomputed."""
    policy = fetch(session, Policy, policy_id, "policy")
    _validate(values.get("kind", policy.kind), values.get("document", policy.document))
    apply(policy, values)
    policy.updated_at = now
    flush(session, f"policy {policy.name!r}")
    _dirty_days_of_policy(session.connection(), policy_id)
    return policy


def delete_policy(session: Session, *, policy_id: int) -> None:
    """Remove a policy no assignment refers to."""
    policy = fetch(session, Policy, policy_id, "policy")
    if session.scalar(select(exists().where(PolicyAssignment.policy_id == policy_id))):
        raise Conflict(f"policy {policy.name!r} is still assigned")
    session.delete(policy)
    flush(session, f"policy {policy.name!r}")


def list_assignments(session: Session, *, emp: Employee) -> list[PolicyAssignment]:
    """An employee's assignments, oldest first."""
    query = select(PolicyAssignment).where(PolicyAssignment.employee_id == emp.id)
    return list(session.scalars(query.order_by(PolicyAssignment.effective_from)))


def assign(
    session: Session,
    *,
    emp: Employee,
    policy_id: int,
    effective_from: date,
    effective_to: date | None,
) -> PolicyAssignment:
    """Put an employee under a policy from a date; the days it covers are recomputed."""
    fetch(session, Policy, policy_id, "policy")
    _check_range(effective_from, effective_to)
    employee_id = emp.id
    row = PolicyAssignment(
        employee_id=employee_id,
        policy_id=policy_id,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    session.add(row)
    flush(session, f"assignment from {effective_from}")
    conn = session.connection()
    mark_dirty(conn, _range_days(conn, employee_id, effective_from, effective_to))
    return row


def update_assignment(
    session: Session, *, row: PolicyAssignment, values: dict[str, Any]
) -> PolicyAssignment:
    """Change an assignment; the days of both its old and new range are recomputed."""
    if "policy_id" in values:
        fetch(session, Policy, values["policy_id"], "policy")
    old = (row.effective_from, row.effective_to)
    apply(row, values)
    _check_range(row.effective_from, row.effective_to)
    flush(session, f"assignment {row.id}")
    conn = session.connection()
    days = _range_days(conn, row.employee_id, *old)
    mark_dirty(
        conn, days | _range_days(conn, row.employee_id, row.effective_from, row.effective_to)
    )
    return row


def delete_assignment(session: Session, *, row: PolicyAssignment) -> None:
    """Remove an assignment; the days it covered are recomputed."""
    span = (row.employee_id, row.effective_from, row.effective_to)
    what = f"assignment {row.id}"
    session.delete(row)
    flush(session, what)
    conn = session.connection()
    mark_dirty(conn, _range_days(conn, *span))


def _check_range(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise InvalidInput("effective_to is before effective_from", field="effective_to")


def _range_days(
    conn: Connection, employee_id: int, start: date, end: date | None
) -> set[tuple[int, date]]:
    # The days that can change are those with punches or a computed result in the range.
    dialect = conn.dialect.name
    params: dict[str, Any] = {"e": employee_id, "s": db_date(start, dialect)}
    upper = ""
    if end is not None:
        upper = " AND local_date <= :t"
        params["t"] = db_date(end, dialect)
    days: set[tuple[int, date]] = set()
    for table in ("punches", "attendance_days"):
        sql = f"SELECT DISTINCT local_date FROM {table} WHERE employee_id = :e AND local_date >= :s"
        for (day,) in conn.execute(text(sql + upper), params):
            days.add((employee_id, day if isinstance(day, date) else date.fromisoformat(day)))
    return days


def _dirty_days_of_policy(conn: Connection, policy_id: int) -> None:
    # One mark_dirty call: the marks are locked in one order (see collector.days.dirty).
    days = {
        (emp, day)
        for emp, day in conn.execute(
            select(AttendanceDay.employee_id, AttendanceDay.local_date).where(
                AttendanceDay.policy_id == policy_id
            )
        )
    }
    for emp, start, end in conn.execute(
        select(
            PolicyAssignment.employee_id,
            PolicyAssignment.effective_from,
            PolicyAssignment.effective_to,
        ).where(PolicyAssignment.policy_id == policy_id)
    ):
        days |= _range_days(conn, emp, start, end)
    mark_dirty(conn, days)
