"""A few pending employee requests, so the demo's inbox and its navigation count are not empty."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import DomainError
from collector.masterdata.scope import Scope
from collector.normalize import NormalizePolicy
from collector.store.models import Employee, EmployeeRequest
from collector.workforce.requests import RequestInput, create_request
from rules.requests import RequestKind


def seed_requests(session: Session, now: datetime, policy: NormalizePolicy) -> int:
    """A missed punch, leave, overtime and a factory swap, all pending; once per database."""
    if session.scalar(select(EmployeeRequest.id).limit(1)) is not None:
        return 0
    today = now.date()
    weekday = today - timedelta(days=1)
    while weekday.weekday() >= 5:  # the last weekday before today
        weekday -= timedelta(days=1)
    people = {e.code: e for e in session.scalars(select(Employee))}
    swap_with = people.get("2003")
    wanted = [
        (
            "1002",
            RequestInput(
                RequestKind.MISSED_PUNCH,
                "忘记打卡 — forgot to punch in, was at the stand-up",
                timestamp=datetime.combine(weekday, time(8, 55)),
                state="in",
            ),
        ),
        (
            "1006",
            RequestInput(
                RequestKind.LEAVE,
                "family wedding",
                leave_type="annual",
                start_date=today + timedelta(days=7),
                end_date=today + timedelta(days=8),
            ),
        ),
        (
            "1007",
            RequestInput(RequestKind.OVERTIME, "release night", start_date=today, minutes=120),
        ),
        (
            "2001",
            RequestInput(
                RequestKind.SHIFT_SWAP,
                "doctor's appointment",
                start_date=today + timedelta(days=2),
                other_employee_id=None if swap_with is None else swap_with.id,
            ),
        ),
    ]
    made = 0
    for code, data in wanted:
        emp = people.get(code)
        if emp is None:
            continue
        try:
            with session.begin_nested():
                create_request(
                    session,
                    employee=emp,
                    data=data,
                    actor="demo",
                    now=now,
                    scope=Scope(),
                    policy=policy,
                )
        except DomainError:  # e.g. no roster that day: the demo shows the others
            continue
        made += 1
    return made
