"""Odoo connector against an Odoo-like server over HTTP, JSON-2 and JSON-RPC: attendance pairs
from final days, idempotent, one open attendance respected, refusals per employee."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.outbound.events import EventType, emit
from collector.outbound.payloads import day_event
from collector.outbound.targets import create_target, set_credential
from collector.outbound.worker import OutboxWorker
from collector.store.models import OutboxMessage
from tests.odoo_support import Odoo, odoo_server

PROTOCOLS = ["json2", "jsonrpc"]


def add_odoo(store, url: str, now: datetime, protocol: str, key: str) -> int:
    config = {"protocol": protocol, "database": "prod", "employee_field": "barcode"}
    if protocol == "jsonrpc":
        config["login"] = "punchgate"
    with store.sessions.begin() as s:
        target, _ = create_target(
            s,
            name="odoo",
            kind="odoo",
            url=url,
            events=[EventType.DAY_FINALIZED],
            config=config,
            secret=key,
            box=store.box,
            now=now,
        )
        return target.id


def day(engine, now, code: str, on: date, first_in: str | None, last_out: str | None) -> None:
    figures: dict[str, Any] = {
        "status": "present",
        "first_in": first_in,
        "last_out": last_out,
        "worked_s": 0,
        "break_s": 0,
        "late_s": 0,
        "early_leave_s": 0,
        "target_s": 0,
        "overtime": {},
        "balance_delta_s": 0,
        "core_missed_s": 0,
        "night_s": 0,
        "anomalies": [],
    }
    with engine.begin() as conn:
        emit(conn, [day_event(code, 1, on, figures, revised=False)], now=now)


def run(store, at: datetime) -> None:
    OutboxWorker(store, clock=lambda: at, rng=random.Random(5)).run_once()


def last(engine) -> OutboxMessage:
    with Session(engine) as s:
        found = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert found is not None
        return found


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_attendance_pairs_idempotent_and_refusals(store, engine, now, protocol) -> None:
    odoo = Odoo(
        employees=[
            {"id": 1, "name": "Anna", "barcode": "1001"},
            {"id": 2, "name": "Ben", "barcode": "1002"},
        ],
        attendances=[
            {"id": 1, "employee_id": 2, "check_in": "2026-11-23 08:00:00", "check_out": False}
        ],
    )
    tue, wed, thu = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)
    with odoo_server(odoo) as (url, odoo):
        add_odoo(store, url, now, protocol, odoo.key)
        day(engine, now, "1001", tue, "2026-11-24T08:00:00Z", "2026-11-24T16:30:00Z")
        run(store, now)
        assert last(engine).status == "delivered"
        # Revised (a late punch): the same attendance gets the new check-out, no second one.
        day(engine, now, "1001", tue, "2026-11-24T08:00:00Z", "2026-11-24T17:30:00Z")
        run(store, now)
        assert last(engine).status == "delivered" and last(engine).last_error == "updated"
        day(engine, now, "1001", tue, "2026-11-24T08:00:00Z", "2026-11-24T17:30:00Z")
        run(store, now)  # sent again (a replay): nothing changes
        assert last(engine).last_error == "already there"
        day(engine, now, "9999", tue, "2026-11-24T08:00:00Z", "2026-11-24T16:00:00Z")
        run(store, now)
        assert last(engine).status == "rejected" and "not found in Odoo" in str(
            last(engine).last_error
        )
        # Ben still has an open attendance from Monday: Odoo refuses; HR must close it.
        day(engine, now, "1002", tue, "2026-11-24T08:00:00Z", "2026-11-24T16:00:00Z")
        run(store, now)
        assert last(engine).status == "rejected" and "checked out" in str(last(engine).last_error)
        # A day without a check-out is sent open, but never a second open one.
        day(engine, now, "1001", wed, "2026-11-25T08:00:00Z", None)
        run(store, now)
        assert last(engine).status == "delivered"
        day(engine, now, "1001", thu, "2026-11-26T08:00:00Z", None)
        run(store, now)
        assert last(engine).status == "rejected" and "still open" in str(last(engine).last_error)
        day(engine, now, "1001", date(2026, 11, 27), None, None)  # absent: nothing to write
        run(store, now)
        assert last(engine).status == "skipped"
    anna = [(a["check_in"], a["check_out"]) for a in odoo.attendances if a["employee_id"] == 1]
    assert anna == [("2026-11-24 08:00:00", "2026-11-24 17:30:00"), ("2026-11-25 08:00:00", False)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_auth_failures_and_5xx_are_retried(store, engine, now, protocol) -> None:
    odoo = Odoo(employees=[{"id": 1, "name": "Anna", "barcode": "1001"}])
    with odoo_server(odoo) as (url, odoo):
        tid = add_odoo(store, url, now, protocol, "wrong-key")
        day(engine, now, "1001", date(2026, 11, 24), "2026-11-24T08:00:00Z", "2026-11-24T16:00:00Z")
        run(store, now)
        assert last(engine).status == "pending"
        with store.sessions.begin() as s:
            set_credential(s, tid, secret=odoo.key, box=store.box)
        odoo.fail_once = 503
        run(store, now + timedelta(hours=1))
        assert last(engine).status == "pending" and last(engine).last_code == 503
        run(store, now + timedelta(hours=2))
        assert last(engine).status == "delivered"
    assert len(odoo.attendances) == 1
