"""Demo attendance: two weeks of history under the demo policies, and the days worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update

from collector.days import DaysWorker, process_dirty
from collector.demo.periods import closable_months
from collector.demo.roster import roster_history, seed_roster
from collector.demo.seed import history, working_day
from collector.runtime import Store, utcnow
from collector.store.ingest import ingest_batch
from collector.store.models import Device

HISTORY_DAYS = 14  # at least this much history, and always all of the month the demo closes


@dataclass(frozen=True)
class SeededHistory:
    """What seeding stored: punches new and already there, over which working days."""

    inserted: int
    duplicates: int
    working_days: int
    first: date
    last: date


def policy_start(now: datetime) -> date:
    """The day the demo's policy assignments start: the first day of seeded history, the
    first of the oldest month the demo may close (so it can close its pay period) or earlier."""
    return min(closable_months(now)[-1], now.date() - timedelta(days=HISTORY_DAYS))


def seed_attendance(store: Store, now: datetime) -> SeededHistory:
    """Working days of history at the front door, then attendance days computed from it."""
    punches = []
    first, last = policy_start(now), now.date() - timedelta(days=1)
    day, worked = first, 0
    while day <= last:
        if working_day(day):
            punches += history(day)
            worked += 1
        day += timedelta(days=1)
    with store.sessions.begin() as session:
        seed_roster(session, now, policy_start(now))
        punches += roster_history(session, policy_start(now), now.date())
    seeded = ingest_batch(store.engine, punches, now=now, policy=store.policy)
    # The history is a complete import: the demo's doors have nothing older left to report.
    with store.engine.begin() as conn:
        conn.execute(
            update(Device).where(Device.reported_until.is_(None)).values(reported_until=now)
        )
    process_dirty(store.engine, now=now)
    return SeededHistory(seeded.inserted, seeded.duplicates, worked, first, last)


def days_worker(store: Store) -> DaysWorker:
    """The worker that keeps the demo's attendance days current."""
    s = store.settings
    return DaysWorker(
        store.engine, clock=utcnow, interval_s=s.days_interval_s, lookback_days=s.days_lookback
    )
