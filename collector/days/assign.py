"""Effective-dated policy assignment, and marking the days a change affects."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.days.context import as_date, mark, query
from collector.days.dirty import assigned_days
from collector.store.ingest import mark_dirty
from collector.store.models import PolicyAssignment

MAX_MARKED_DAYS = 3 * 366  # a change reaching further back recomputes these most recent days


def assign_policy(
    session: Session,
    *,
    employee_id: int,
    policy_id: int,
    effective_from: date,
    effective_to: date | None = None,
    today: date,
) -> PolicyAssignment:
    """Put an employee under a policy from a date; the days it governs are marked dirty."""
    found = session.scalar(
        select(PolicyAssignment).where(
            PolicyAssignment.employee_id == employee_id,
            PolicyAssignment.effective_from == effective_from,
        )
    )
    old_to = None
    if found is None:
        found = PolicyAssignment(
            employee_id=employee_id,
            policy_id=policy_id,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        session.add(found)
    elif found.policy_id == policy_id and found.effective_to == effective_to:
        return found
    else:
        old_to = found.effective_to
        found.policy_id, found.effective_to = policy_id, effective_to
    session.flush()
    # Shortening an assignment affects the days it no longer covers too.
    end = today if old_to is None or effective_to is None else max(old_to, effective_to)
    mark_assignment_days(session.connection(), employee_id, effective_from, min(end, today))
    return found


def mark_assignment_days(conn: Connection, employee_id: int, start: date, end: date) -> int:
    """Mark an employee's days in [start, end] dirty (the most recent ones when very long)."""
    start = max(start, end - timedelta(days=MAX_MARKED_DAYS))
    days = [(employee_id, start + timedelta(days=i)) for i in range((end - start).days + 1)]
    mark_dirty(conn, days)
    return len(days)


def mark_policy_days(conn: Connection, policy_id: int, *, today: date) -> int:
    """After a policy document changed: mark every stored day under it, and the assigned
    days of the last few weeks that have no row yet."""
    m = mark(conn)
    rows = query(
        conn,
        f"SELECT employee_id, local_date FROM attendance_days WHERE policy_id = {m}",
        [policy_id],
    )
    days = {(emp, as_date(day)) for emp, day in rows}
    emps = {
        emp
        for (emp,) in query(
            conn,
            f"SELECT DISTINCT employee_id FROM policy_assignments WHERE policy_id = {m}",
            [policy_id],
        )
    }
    if emps:
        days |= assigned_days(conn, today - timedelta(days=31), today, employee_ids=emps)
    mark_dirty(conn, days)
    return len(days)
