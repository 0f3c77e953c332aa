"""The demo's pay calendar, with last month closed so its payroll export can be opened."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from collector.errors import DomainError
from collector.periods.close import OVERRIDABLE, close_period
from collector.runtime import Store
from collector.store.models import PayCalendar, PayPeriod

CALENDAR = "monthly"
# The demo is a showcase: what would need HR in a real close is overridden, and says so.
OVERRIDES = {item: "demo data, checked by nobody" for item in OVERRIDABLE}


def close_last_month(store: Store, now: datetime) -> int | None:
    """A monthly pay calendar with last month closed: the period's id (None: not closable)."""
    start = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    with store.sessions.begin() as session:
        if session.scalar(select(PayCalendar.id).where(PayCalendar.code == CALENDAR)) is None:
            session.add(
                PayCalendar(code=CALENDAR, name="Monthly (demo)", kind="monthly", created_at=now)
            )
        done = session.scalar(
            select(PayPeriod.id).where(PayPeriod.start == start, PayPeriod.status == "closed")
        )
        if done is not None:
            return done
        try:
            period, _ = close_period(
                session, CALENDAR, start, actor="demo", now=now, overrides=OVERRIDES
            )
        except DomainError:
            return None  # e.g. a day still provisional: the page's checklist says why
        return period.id
