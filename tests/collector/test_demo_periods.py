"""The demo closes the latest month whose punch windows have all closed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from collector.cli.demo import DEMO_CONFIG
from collector.config import load_config
from collector.demo.days import policy_start, seed_attendance
from collector.demo.periods import CALENDAR, close_last_month
from collector.demo.seed import add_employees
from collector.periods.close import calendar_by_code, checklist
from collector.runtime import Store


def seed_demo(store: Store, now: datetime) -> None:
    """The demo's employees and history as `punchgate demo` seeds them at `now`."""
    with store.sessions.begin() as s:
        add_employees(s, load_config(DEMO_CONFIG), now, policy_start(now))
    assert seed_attendance(store, now).inserted > 0


@pytest.mark.parametrize(
    ("now", "closes"),
    [
        # 04:00 in Berlin: the night shift of 30 November is still at work.
        (datetime(2026, 12, 1, 3, 0, tzinfo=UTC), date(2026, 10, 1)),
        (datetime(2026, 12, 3, 9, 0, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 12, 17, 9, 0, tzinfo=UTC), date(2026, 11, 1)),
    ],
)
def test_the_demo_closes_the_newest_month_whose_days_are_final(
    store: Store, now: datetime, closes: date
) -> None:
    seed_demo(store, now)
    closed = close_last_month(store, now)
    assert closed is not None and closed[1] == closes
    if closes != date(2026, 11, 1):  # November's own checklist names what kept it open
        with store.sessions.begin() as s:
            found = checklist(s, calendar_by_code(s, CALENDAR), date(2026, 11, 1), now)
        assert found.items["provisional_days"]["count"] > 0
        assert {e["date"] for e in found.items["provisional_days"]["examples"]} == {"2026-11-30"}
    assert close_last_month(store, now) == closed  # a restart finds it closed
