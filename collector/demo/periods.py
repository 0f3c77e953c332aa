"""The demo's pay calendar, with last month closed so its payroll export can be opened."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from collector.errors import DomainError
from collector.periods.close import OVERRIDABLE, CloseBlocked, close_period
from collector.runtime import Store
from collector.store.models import PayCalendar, PayPeriod

CALENDAR = "monthly"
# The demo is a showcase: what would need HR in a real close is overridden, and says so.
OVERRIDES = {item: "demo data, checked by nobody" for item in OVERRIDABLE}
# A month's last days stay provisional until their punch windows close (a night shift's runs
# into the next morning): early in a month the demo closes the month before last instead.
EARLY_DAYS = 2


def closable_months(now: datetime) -> list[date]:
    """First days of the months the demo may close, newest first."""
    last = (now.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    if now.date().day > EARLY_DAYS:
        return [last]
    return [last, (last - timedelta(days=1)).replace(day=1)]


def close_last_month(store: Store, now: datetime) -> tuple[int, date] | None:
    """A monthly pay calendar with the latest closable month closed: its period's id and first
    day (None: none could close)."""
    with store.sessions.begin() as session:
        if session.scalar(select(PayCalendar.id).where(PayCalendar.code == CALENDAR)) is None:
            session.add(
                PayCalendar(code=CALENDAR, name="Monthly (demo)", kind="monthly", created_at=now)
            )
    for start in closable_months(now):
        with store.sessions.begin() as session:
            done = session.scalar(
                select(PayPeriod.id).where(PayPeriod.start == start, PayPeriod.status == "closed")
            )
            if done is not None:
                return done, start
            try:
                period, _ = close_period(
                    session, CALENDAR, start, actor="demo", now=now, overrides=OVERRIDES
                )
            except CloseBlocked as blocked:
                if "provisional_days" in blocked.checklist.blockers(OVERRIDES):
                    continue  # its last punch windows are open: try the month before
                return None
            except DomainError:
                return None  # the page's checklist says why
            return period.id, start
    return None
