"""ERPNext Shift Types' last_sync_of_checkin: moved only as far as every checkin has gone."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from collector.errors import InvalidInput
from collector.outbound.events import EventType
from collector.outbound.targets import create_target, update_target
from collector.outbound.worker import OutboxWorker
from collector.store.ingest import ingest_batch
from collector.store.models import Device
from tests.erpnext_support import Site, erpnext_site
from tests.factories import raw_punch

SHIFTS = {"Day Shift": ["ZK-1", "ZK-2"], "Gate Shift": ["ZK-2"]}


def add_target(store, url: str, now: datetime, token: str, config: dict[str, Any]) -> int:
    with store.sessions.begin() as s:
        target, _ = create_target(
            s,
            name="erp",
            kind="erpnext",
            url=url,
            events=[EventType.PUNCH_CREATED],
            config=config,
            secret=token,
            box=store.box,
            now=now,
        )
        return target.id


def add_terminals(engine, now: datetime) -> None:
    with Session(engine) as s, s.begin():
        for code in ("ZK-1", "ZK-2"):
            s.add(Device(code=code, kind="zk", timezone="Asia/Shanghai"))


def reported(engine, **until: datetime | None) -> None:
    with Session(engine) as s, s.begin():
        for code, at in until.items():
            dev = s.query(Device).filter_by(code=code.replace("_", "-")).one()
            dev.reported_until = at


def test_marks_wait_for_every_terminal_and_every_pending_checkin(store, engine, now) -> None:
    site = Site(
        employees={"1001": {"name": "HR-EMP-00001", "status": "Active"}},
        shift_types={"Day Shift": {}, "Gate Shift": {}},
    )
    add_terminals(engine, now)
    with erpnext_site(site) as (url, site):
        config = {"timezone": "Asia/Shanghai", "shift_types": SHIFTS}
        add_target(store, url, now, site.token, config)
        worker = OutboxWorker(store, clock=lambda: now, rng=random.Random(1))
        try:
            # ZK-2 was never read: neither shift type it feeds may move.
            reported(engine, ZK_1=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
            assert worker.sync_shift_types() == 0
            assert site.shift_puts == []

            reported(engine, ZK_2=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
            # A punch read at 09:00 UTC is still to be sent: the Day mark stops before it.
            nine = datetime(2026, 3, 2, 17, 0)  # Shanghai wall clock = 09:00 UTC
            punch = raw_punch("1001", nine, tz="Asia/Shanghai", device_code="ZK-1")
            ingest_batch(engine, [punch], now=now, policy=store.policy)
            assert worker.sync_shift_types() == 2
            assert sorted(site.shift_puts) == [
                ("Day Shift", "2026-03-02 16:59:59"),
                ("Gate Shift", "2026-03-02 16:59:59"),
            ]

            # Delivered: Day moves to ZK-1's 09:30 UTC, Gate to ZK-2's 10:00 UTC.
            assert worker.run_once() == 1
            assert len(site.checkins) == 1
            assert worker.sync_shift_types() == 2
            assert site.shift_types["Day Shift"]["last_sync_of_checkin"] == "2026-03-02 17:30:00"
            assert site.shift_types["Gate Shift"]["last_sync_of_checkin"] == "2026-03-02 18:00:00"

            # Nothing advanced: nothing sent again.
            assert worker.sync_shift_types() == 0
            assert len(site.shift_puts) == 4
        finally:
            worker.stop()


def test_a_shift_type_erpnext_lacks_is_retried_not_recorded(store, engine, now) -> None:
    site = Site(shift_types={"Day Shift": {}})
    add_terminals(engine, now)
    reported(engine, ZK_1=now, ZK_2=now)
    with erpnext_site(site) as (url, site):
        add_target(store, url, now, site.token, {"shift_types": {"Night": []}})
        worker = OutboxWorker(store, clock=lambda: now)
        try:
            assert worker.sync_shift_types() == 0  # 404: logged, tried again next round
            assert worker.sync_shift_types() == 0
            assert site.shift_puts == [] and site.requests == 2
        finally:
            worker.stop()


def test_a_malformed_shift_type_mapping_is_refused(store, now) -> None:
    with pytest.raises(InvalidInput, match="shift_types"):
        add_target(store, "http://127.0.0.1:9", now, "k:s", {"shift_types": ["Day"]})
    tid = add_target(store, "http://127.0.0.1:9", now, "k:s", {})
    with store.sessions.begin() as s, pytest.raises(InvalidInput, match="shift_types"):
        update_target(s, tid, config={"shift_types": {"Day": "ZK-1"}})
