"""Adding pay calendars: one per department, and one for the company."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector import audit
from collector.errors import Conflict, InvalidInput
from collector.store.models import Department, PayCalendar
from rules.payperiod import CycleError, CycleKind, PayCycle


def add_calendar(
    session: Session,
    *,
    code: str,
    kind: CycleKind,
    start_day: int = 1,
    anchor: date | None = None,
    department: str | None = None,
    name: str = "",
    actor: str,
    now: datetime,
) -> PayCalendar:
    """Add a pay calendar in the caller's transaction (audited); a clash is a Conflict."""
    try:
        PayCycle(kind, start_day, anchor)
    except CycleError as exc:
        raise InvalidInput(str(exc), field="kind") from None
    dept_id = None
    if department is not None:
        dept_id = session.scalar(select(Department.id).where(Department.code == department))
        if dept_id is None:
            raise InvalidInput(f"no department {department!r}", field="department")
    pays = PayCalendar.department_id
    clash = session.scalar(
        select(PayCalendar.code).where(
            (PayCalendar.code == code) | (pays.is_(None) if dept_id is None else pays == dept_id)
        )
    )
    if clash is not None:
        raise Conflict(
            f"pay calendar {clash!r} already has that code or pays that"
            f" {'company' if dept_id is None else 'department'}"
        )
    cal = PayCalendar(
        code=code,
        name=name,
        kind=kind.value,
        start_day=start_day,
        anchor=anchor,
        department_id=dept_id,
        created_at=now,
    )
    session.add(cal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="pay_calendar",
        entity_id=cal.id,
        now=now,
        details={
            "code": code,
            "name": name,
            "kind": kind.value,
            "start_day": start_day,
            "anchor": anchor.isoformat() if anchor else None,
            "department": department,
        },
    )
    return cal
