"""The close-the-day pass runs only where the days-close lease is held."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from collector.days import DaysWorker
from collector.fleet import JOB_DAYS_CLOSE, FleetMember, Role
from collector.store.models import DirtyDay
from tests.collector.test_days import TUE, day_row, setup_office


def test_close_pass_only_in_the_lease_holder(store: Any, now: Any) -> None:
    emp, _ = setup_office(store, now)
    with store.engine.begin() as conn:
        conn.execute(delete(DirtyDay))
    holder = FleetMember(store.engine, node_id="a", roles={Role.DAYS})
    other = FleetMember(store.engine, node_id="b", roles={Role.DAYS})
    holder.beat()
    other.beat()
    assert holder.holds(JOB_DAYS_CLOSE) and not other.holds(JOB_DAYS_CLOSE)
    idle = DaysWorker(
        store.engine,
        clock=lambda: now,
        lookback_days=3,
        may_close=lambda: other.holds(JOB_DAYS_CLOSE),
    )
    assert idle.run_once() == 0  # no close pass here: nothing marked, nothing written
    assert day_row(store, emp, TUE) is None
    closing = DaysWorker(
        store.engine,
        clock=lambda: now,
        lookback_days=3,
        may_close=lambda: holder.holds(JOB_DAYS_CLOSE),
    )
    assert closing.run_once() == 5
    assert day_row(store, emp, TUE).status == "absent"
