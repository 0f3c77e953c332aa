"""ERPNext connector against a Frappe-like site over HTTP: checkins, duplicates, per-employee
errors, auth failures and 5xx, from the outbox."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.outbound import log
from collector.outbound.events import EventType
from collector.outbound.targets import create_target, set_credential
from collector.outbound.worker import OutboxWorker
from collector.store.ingest import ingest_batch
from collector.store.models import OutboxMessage
from rules.vocabulary import SourceKind
from tests.erpnext_support import Site, erpnext_site
from tests.factories import raw_punch


def add_erpnext(store, url: str, now: datetime, credential: str) -> int:
    with store.sessions.begin() as s:
        target, shown = create_target(
            s,
            name="erp",
            kind="erpnext",
            url=url,
            events=[EventType.PUNCH_CREATED, EventType.PUNCH_VOIDED],
            config={"timezone": "Asia/Shanghai"},
            secret=credential,
            box=store.box,
            now=now,
        )
        assert shown is None  # a connector's credential is never echoed
        return target.id


def statuses(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {str(m.subject): m.status for m in s.scalars(select(OutboxMessage))}


def run(store, at: datetime) -> int:
    return OutboxWorker(store, clock=lambda: at, rng=random.Random(3)).run_once()


def test_checkins_duplicates_and_per_employee_errors(store, engine, now) -> None:
    site = Site(
        employees={
            "1001": {"name": "HR-EMP-00001", "status": "Active"},
            "1002": {"name": "HR-EMP-00002", "status": "Left"},
            "1003": {"name": "HR-EMP-00003", "status": "Active"},
            "1004": {"name": "HR-EMP-00004", "status": "Active"},
        }
    )
    # 1003's punch is already in ERPNext (the old sync tool sent it): a duplicate.
    site.checkins.append(
        {
            "name": "EMP-CKIN-00000",
            "employee": "HR-EMP-00003",
            "time": "2026-03-02 16:00:00",
            "log_type": "IN",
        }
    )
    with erpnext_site(site) as (url, site):
        tid = add_erpnext(store, url, now, site.token)
        nine = datetime(2026, 3, 2, 9, 0)  # Berlin wall clock: 16:00 in Shanghai
        ingest_batch(
            engine,
            [
                raw_punch("1001", nine, state=0),
                raw_punch("1002", nine),
                raw_punch("9999", nine),
                raw_punch("1003", nine, state=0),
                raw_punch(
                    "1004",
                    nine,
                    source_kind=SourceKind.MOBILE,
                    device_code=None,
                    state="out",
                    lat=52.52,
                    lon=13.405,
                    accuracy_m=10.0,
                    source_ref="m-1",
                ),
            ],
            now=now,
            policy=store.policy,
        )
        site.fail_once["1001"] = 502  # 1001's first call meets a bad gateway
        assert run(store, now) == 5
        got = statuses(engine)
        assert got["1002"] == "rejected" and got["9999"] == "rejected"
        assert got["1003"] == "delivered"  # "already has a log with the same timestamp"
        assert got["1001"] == "pending"  # the 502: retried, not rejected
        assert run(store, now + timedelta(minutes=5)) == 1
        got = statuses(engine)
        assert got["1001"] == got["1004"] == "delivered"
        assert run(store, now + timedelta(days=4)) == 0  # nothing is retried forever
    by_employee = {c["employee"]: c for c in site.checkins}
    first = by_employee["HR-EMP-00001"]
    assert (first["time"], first["log_type"], first["device_id"]) == (
        "2026-03-02 16:00:00",
        "IN",
        "door-1",
    )
    phone = by_employee["HR-EMP-00004"]
    assert (phone["log_type"], phone["latitude"], phone["longitude"]) == ("OUT", "52.52", "13.405")
    assert phone["device_id"] == "mobile"
    assert len(site.checkins) == 3  # 1001, 1004 and the 1003 that was there
    with store.sessions() as s:
        errors = {e["subject"]: e for e in log.employee_errors(s, tid)}
    assert set(errors) == {"1002", "9999"}
    assert "not found in ERPNext" in errors["9999"]["last_error"]
    assert "inactive in ERPNext" in errors["1002"]["last_error"]


def test_fixed_employee_is_replayed_and_auth_failures_retry(store, engine, now) -> None:
    site = Site()
    with erpnext_site(site) as (url, site):
        tid = add_erpnext(store, url, now, "wrong:key")
        ingest_batch(engine, [raw_punch("1001")], now=now, policy=store.policy)
        run(store, now)
        with Session(engine) as s:
            msg = s.scalars(select(OutboxMessage)).one()
            assert msg.status == "pending" and msg.last_code == 401
            assert "API key" in str(msg.last_error)
        with store.sessions.begin() as s:
            set_credential(s, tid, secret=site.token, box=store.box)
        run(store, now + timedelta(hours=1))
        assert statuses(engine) == {"1001": "rejected"}  # unknown there: HR must add them
        site.employees["1001"] = {"name": "HR-EMP-00001", "status": "Active"}
        with store.sessions.begin() as s:
            assert log.replay_target(s, tid, status="rejected", now=now + timedelta(hours=2)) == 1
        run(store, now + timedelta(hours=2))
        assert statuses(engine) == {"1001": "delivered"}
    assert [c["employee"] for c in site.checkins] == ["HR-EMP-00001"]
