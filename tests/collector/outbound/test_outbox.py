"""The outbox: written with the change, delivered signed, retried with the same id, 410 disables."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from collector.days import close_days, process_dirty, recompute_range
from collector.outbound.delivery import MAX_DELAY_S, backoff, claim, replay
from collector.outbound.events import EventType
from collector.outbound.targets import rotate_secret
from collector.outbound.worker import OutboxWorker
from collector.poller.terminals import mark_status
from collector.store.ingest import ingest, ingest_batch
from collector.store.models import Device, OutboundTarget, OutboxAttempt, OutboxMessage, Punch
from rules.vocabulary import PunchState, SourceKind
from tests.collector.test_days import TUE, punches, setup_office
from tests.factories import add_employee, raw_punch
from tests.outbound_support import add_webhook, set_url, webhook_receiver

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "webhooks"
ALL = list(EventType)


def check_schema(body: dict[str, Any]) -> None:
    """The body validates against the documented schema of its type."""
    schema = json.loads((SCHEMAS / f"{body['type']}.schema.json").read_text())
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def worker(store, now: datetime) -> OutboxWorker:
    return OutboxWorker(store, clock=lambda: now, rng=random.Random(1))


def test_ingest_writes_the_outbox_in_its_own_transaction(store, engine, now) -> None:
    add_webhook(store, "http://127.0.0.1:9/none", now, events=[EventType.PUNCH_CREATED])
    with Session(engine) as s:
        add_employee(s, "1001", now)
        s.commit()
    batch = [raw_punch("1001", datetime(2026, 3, 2, 9, m)) for m in range(3)]
    conn = engine.connect()
    with conn.begin() as tx:
        ingest(conn, batch, now=now, policy=store.policy)
        tx.rollback()  # the punches are not stored, so neither are their events
    conn.close()
    assert outbox(engine) == []
    ingest_batch(engine, batch, now=now, policy=store.policy)
    ingest_batch(engine, batch, now=now, policy=store.policy)  # duplicates: no new events
    rows = outbox(engine)
    with Session(engine) as s:
        ids = set(s.scalars(select(Punch.id)))
    assert len(rows) == 3 and len({r.msg_id for r in rows}) == 3
    assert {r.ref_id for r in rows} == ids and {r.payload for r in rows} == {None}
    claimed = claim(engine, now=now, limit=10, lease_s=60)  # the body is built at first claim
    bodies = [json.loads(c.payload) for c in claimed]
    assert {b["data"]["punch_id"] for b in bodies} == ids
    for body in bodies:
        check_schema(body)
        assert body["data"]["local_time"].endswith("+01:00")
        assert body["data"]["employee_code"] == "1001" and body["data"]["employee_id"] is not None


def test_no_subscriber_writes_nothing(store, engine, now) -> None:
    add_webhook(store, "http://127.0.0.1:9/none", now, events=[EventType.DEVICE_OFFLINE])
    ingest_batch(engine, [raw_punch("1001")], now=now, policy=store.policy)
    assert outbox(engine) == []


def test_delivered_signed_once_and_voids_announced(store, engine, now) -> None:
    tid, secret = add_webhook(store, "http://127.0.0.1:9/x", now)
    with Session(engine) as s:
        add_employee(s, "1001", now)
        s.commit()
    with webhook_receiver([secret]) as (url, seen):
        set_url(store, tid, url)
        ingest_batch(engine, [raw_punch("1001")], now=now, policy=store.policy)
        with Session(engine) as s:
            punch = s.scalars(select(Punch)).one()
        void = raw_punch(
            "1001",
            punch.occurred_at,
            source_kind=SourceKind.MANUAL,
            state=PunchState.VOID,
            voids_punch_id=punch.id,
            note="wrong door",
            source_ref="k1",
        )
        ingest_batch(engine, [void], now=now, policy=store.policy)
        w = worker(store, now)
        assert w.run_once() == 2
        assert w.run_once() == 0
    assert seen.bad_signatures == 0
    types = sorted(body["type"] for _, body in seen.deliveries)
    assert types == ["punch.created", "punch.voided"]
    for _, body in seen.deliveries:
        check_schema(body)
    voided = next(b for _, b in seen.deliveries if b["type"] == "punch.voided")
    assert voided["data"]["voids_punch_id"] == punch.id
    assert {m.status for m in outbox(engine)} == {"delivered"}


def test_retries_keep_the_webhook_id_and_back_off(store, engine, now) -> None:
    tid, secret = add_webhook(store, "http://127.0.0.1:9/x", now)
    with webhook_receiver([secret]) as (url, seen):
        set_url(store, tid, url)
        ingest_batch(engine, [raw_punch("1001")], now=now, policy=store.policy)
        seen.answers[:] = [500, 302]
        assert worker(store, now).run_once() == 1
        (msg,) = outbox(engine)
        assert msg.status == "pending" and msg.last_code == 500
        assert msg.next_attempt_at > now  # backed off: not due again at once
        assert worker(store, now).run_once() == 0
        later = msg.next_attempt_at
        assert worker(store, later).run_once() == 1  # 302 is no success either
        assert worker(store, later + timedelta(hours=1)).run_once() == 1
    assert len(seen.headers) == 3 and len({h["webhook-id"] for h in seen.headers}) == 1
    assert len(set(seen.bodies)) == 1  # every retry sends the bytes the first attempt sent
    assert len(seen.deliveries) == 1
    with Session(engine) as s:
        codes = list(s.scalars(select(OutboxAttempt.code).order_by(OutboxAttempt.id)))
    assert codes == [500, 302, 204]


def test_410_disables_the_endpoint_and_replay_resends(store, engine, now) -> None:
    tid, secret = add_webhook(store, "http://127.0.0.1:9/x", now)
    with webhook_receiver([secret]) as (url, seen):
        set_url(store, tid, url)
        ingest_batch(engine, [raw_punch("1001"), raw_punch("1002")], now=now, policy=store.policy)
        seen.answers[:] = [410, 410]
        worker(store, now).run_once()
        with Session(engine) as s:
            target = s.scalars(select(OutboundTarget)).one()
            assert not target.enabled and "410" in str(target.disabled_reason)
        assert {m.status for m in outbox(engine)} == {"failed"}
        ingest_batch(engine, [raw_punch("1003")], now=now, policy=store.policy)
        assert len(outbox(engine)) == 2  # a disabled target subscribes to nothing
        with store.sessions.begin() as s:
            s.scalars(select(OutboundTarget)).one().enabled = True
            replay(s.connection(), [m.id for m in outbox(engine)], now=now)
        assert worker(store, now).run_once() == 2
    assert len(seen.unique()) == 2


def test_rotation_signs_with_both_secrets(store, engine, now) -> None:
    tid, old = add_webhook(store, "http://127.0.0.1:9/x", now)
    with store.sessions.begin() as s:
        new = rotate_secret(s, tid, box=store.box, now=now, overlap_s=3600)
    for code, secrets in (
        ("1001", [old]),
        ("1002", [new]),
    ):  # a receiver holding either secret accepts
        with webhook_receiver(secrets) as (url, seen):
            set_url(store, tid, url)
            ingest_batch(
                engine,
                [raw_punch(code)],
                now=now,
                policy=store.policy,
            )
            worker(store, now).run_once()
        assert seen.bad_signatures == 0 and len(seen.deliveries) == 1
        assert len(seen.headers[0]["webhook-signature"].split(" ")) == 2
    with webhook_receiver([old]) as (url, seen):  # after the overlap only the new one signs
        set_url(store, tid, url)
        ingest_batch(engine, [raw_punch("1009")], now=now, policy=store.policy)
        worker(store, now + timedelta(hours=2)).run_once()
    assert seen.bad_signatures == 1 and seen.deliveries == []


def test_claims_never_overlap(store, engine, now) -> None:
    add_webhook(store, "http://127.0.0.1:9/x", now)
    batch = [raw_punch(str(1000 + i)) for i in range(300)]
    ingest_batch(engine, batch, now=now, policy=store.policy)
    got: list[list[int]] = []

    def take() -> None:
        mine: list[int] = []
        while part := claim(engine, now=now, limit=7, lease_s=60):
            mine += [c.id for c in part]
        got.append(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for part in got for i in part]
    assert len(flat) == len(set(flat)) == 300


def test_backoff_spans_about_three_days() -> None:
    rng = random.Random(7)
    delays = [backoff(n, rng) for n in range(1, 40)]
    assert 3.75 <= delays[0] <= 5 and max(delays) <= MAX_DELAY_S
    total, attempts = 0.0, 0
    while total < 3 * 24 * 3600:
        attempts += 1
        total += backoff(attempts, rng)
    assert 12 <= attempts <= 25  # a few seconds at first, hours apart at the end
    assert len(set(delays[:8])) == 8  # jittered


def test_device_status_changes_are_events(store, engine, now) -> None:
    add_webhook(
        store,
        "http://127.0.0.1:9/x",
        now,
        events=[EventType.DEVICE_OFFLINE, EventType.DEVICE_ONLINE],
    )
    with store.sessions.begin() as s:
        s.add(Device(code="door-1", kind="zk", status="online"))
    mark_status(engine, "door-1", now=now, status="offline", last_error="timed out")
    mark_status(engine, "door-1", now=now, status="offline", last_error="timed out")
    mark_status(engine, "door-1", now=now, status="online", last_error=None)
    bodies = [json.loads(str(m.payload)) for m in outbox(engine)]
    assert [b["type"] for b in bodies] == ["device.offline", "device.online"]
    for body in bodies:
        check_schema(body)
    assert bodies[0]["data"]["error"] == "timed out"


def test_unsubscribed_types_stay_out_and_count(store, engine, now) -> None:
    add_webhook(store, "http://127.0.0.1:9/x", now, events=[EventType.PUNCH_CREATED], name="a")
    add_webhook(store, "http://127.0.0.1:9/y", now, events=[EventType.PUNCH_CREATED], name="b")
    ingest_batch(engine, [raw_punch("1001")], now=now, policy=store.policy)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    rows = outbox(engine)
    assert rows[0].msg_id == rows[1].msg_id  # one event, one id, one row per target


def test_day_finalized_once_then_when_it_changes(store, engine, now) -> None:
    add_webhook(store, "http://127.0.0.1:9/x", now, events=[EventType.DAY_FINALIZED])
    setup_office(store, now, reported=False)
    punches(store, now, (TUE, "08:00", 0), (TUE, "16:30", 1))
    process_dirty(engine, now=now)
    assert outbox(engine) == []  # provisional days are not announced
    with engine.begin() as conn:
        conn.execute(update(Device).values(reported_until=now))
    close_days(engine, now=now)
    process_dirty(engine, now=now)
    recompute_range(engine, TUE, TUE, now=now)  # unchanged: not announced again
    punches(store, now, (TUE, "07:00", 0))  # a late-arriving punch changes a final day
    process_dirty(engine, now=now)
    bodies = [json.loads(str(m.payload)) for m in outbox(engine)]
    tuesday = [b for b in bodies if b["data"]["local_date"] == TUE.isoformat()]
    assert [b["data"]["revised"] for b in tuesday] == [False, True]
    assert [b["data"]["worked_s"] for b in tuesday] == [8 * 3600, 9 * 3600]
    assert tuesday[0]["data"]["employee_code"] == "1001"
    for body in bodies:
        check_schema(body)
    assert len(bodies) == len({b["data"]["local_date"] for b in bodies}) + 1
