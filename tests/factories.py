"""Builders for test data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from collector.normalize import RawPunch
from collector.store.models import AttendanceDay, Employee
from rules.vocabulary import SourceKind


def raw_punch(code: str = "1001", when: datetime | None = None, **kw: Any) -> RawPunch:
    """A terminal punch with sensible defaults."""
    kw.setdefault("source_kind", SourceKind.TERMINAL)
    kw.setdefault("tz", "Europe/Berlin")
    kw.setdefault("device_code", "door-1")
    kw.setdefault("state", 0)
    kw.setdefault("verify", 1)
    return RawPunch(employee_code=code, timestamp=when or datetime(2026, 3, 2, 9, 0), **kw)


def add_employee(session: Session, code: str, now: datetime, **kw: Any) -> Employee:
    """Insert an employee and return it."""
    emp = Employee(code=code, name=kw.pop("name", f"Employee {code}"), created_at=now, **kw)
    session.add(emp)
    session.flush()
    return emp


def add_day(
    session: Session,
    employee_id: int,
    day: date,
    status: str,
    *,
    computed_at: datetime,
    **kw: Any,
) -> AttendanceDay:
    """Insert an attendance-day row as the rules engine would have computed it."""
    row = AttendanceDay(
        employee_id=employee_id,
        local_date=day,
        status=status,
        provisional=kw.pop("provisional", False),
        overtime=kw.pop("overtime", {}),
        anomalies=kw.pop("anomalies", []),
        explanation=kw.pop("explanation", []),
        computed_at=computed_at,
        **kw,
    )
    session.add(row)
    session.flush()
    return row
