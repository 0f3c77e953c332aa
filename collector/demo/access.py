"""A demo admin key and a punch app enrolment, so the API and the app can be tried at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.apikeys import Role, create_key
from collector.phoneapp.devices import create_enrolment
from collector.store.models import Employee


def demo_key(session: Session, now: datetime) -> str:
    """Create an admin key named 'demo' and return its token (only the hash is kept)."""
    return create_key(session, name="demo", role=Role.ADMIN, now=now).token


def demo_enrolment(session: Session, now: datetime, *, code: str = "1001") -> tuple[str, str]:
    """A punch app enrolment for employee `code`, valid a day; returns (code, link path)."""
    employee = session.scalar(select(Employee).where(Employee.code == code))
    assert employee is not None, f"the demo has no employee {code}"
    made = create_enrolment(
        session, employee=employee, now=now, ttl=timedelta(days=1), actor="demo"
    )
    return code, f"/app/enrol/{made.code}"
