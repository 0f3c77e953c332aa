"""Builders for test data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from collector.normalize import RawPunch
from collector.store.models import Employee
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
