"""Native phone punches through a real broker: stored once, answered, bad input quarantined."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from collector.metrics import MQTT_ACK_LATENCY
from collector.store.models import Employee, Leave, Punch, Quarantine
from devices.mobile.wire import MAX_PAYLOAD_BYTES
from rules.vocabulary import PunchFlag
from tests import helpers
from tests.mqtt_support import Phone, wait_for


def punch(now: datetime, pid: str = "p1", **kw):
    body = {
        "schema_version": 1,
        "id": pid,
        "ts": (now - timedelta(minutes=1)).isoformat(),
        "lat": 52.5201,
        "lon": 13.4051,
        "acc": 10,
        "kind": "in",
        "device": "pixel-7",
        "app_version": "1.0.0",
    }
    body.update(kw)
    return body


def count(store, model) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("receipt_qos", [0, 1])
def test_punch_is_stored_and_answered(run_consumer, phone, topics, seeded, now, receipt_qos):
    acks_before = MQTT_ACK_LATENCY.count()
    run_consumer(receipt_qos=receipt_qos)
    phone.publish(topics.punch("1001"), punch(now))
    (receipt,) = wait_for(phone.receipts)
    # /metrics sees the ack (made just after the receipt went out).
    assert helpers.wait_for(lambda: MQTT_ACK_LATENCY.count() > acks_before, timeout=5)
    assert receipt["status"] == "accepted"
    assert receipt["id"] == "p1"
    assert receipt["site"] == "hq"
    assert 0 < receipt["distance_m"] < 20
    with seeded.sessions() as s:
        row = s.scalars(select(Punch)).one()
    assert (row.employee_code, row.state, row.source_kind, row.verify) == (
        "1001",
        "in",
        "mobile",
        "gps",
    )
    assert (row.site_code, row.geo_decision, row.accuracy_m, row.tz) == (
        "hq",
        "inside",
        10,
        "Europe/Berlin",
    )
    assert row.device_code == "pixel-7"
    assert row.flags == 0
    assert row.occurred_at == now - timedelta(minutes=1)


def test_repeated_delivery_is_stored_once_and_answered_duplicate(
    run_consumer, phone, topics, seeded, now
):
    run_consumer()
    for _ in range(3):  # the phone retries when it misses a receipt; QoS 1 may redeliver
        phone.publish(topics.punch("1002"), punch(now, "same-id"))
    wait_for(lambda: len(phone.receipts()) == 3)
    assert [r["status"] for r in phone.receipts()] == ["accepted", "duplicate", "duplicate"]
    assert count(seeded, Punch) == 1


def test_messages_published_while_consumer_is_down_arrive_after_restart(
    run_consumer, phone, topics, seeded, now
):
    first = run_consumer()
    phone.publish(topics.punch("1001"), punch(now, "before"))
    wait_for(lambda: count(seeded, Punch) == 1)
    first.stop()
    for i in range(30):
        phone.publish(topics.punch("1003"), punch(now, f"offline-{i}"))
    run_consumer()  # same client id: the broker kept the session and its queue
    wait_for(lambda: count(seeded, Punch) == 31)
    wait_for(lambda: len(phone.receipts()) == 31)
    assert {r["status"] for r in phone.receipts()} == {"accepted"}


def test_mqtt5_response_topic_gets_the_receipt_with_correlation(run_consumer, broker, topics, now):
    url, protocol = broker
    if protocol != "5":
        pytest.skip("the embedded broker speaks MQTT 3.1.1 only")
    run_consumer()
    reply = f"{topics.replies('1001')}/phone-9"
    p = Phone(url, "5", subscribe=[reply])
    try:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply
        props.CorrelationData = b"corr-42"
        p.publish(topics.punch("1001"), punch(now, "rq"), properties=props)
        wait_for(lambda: p.received)
        topic, body, got = p.received[0]
        assert topic == reply
        assert json.loads(body)["status"] == "accepted"
        assert got.CorrelationData == b"corr-42"
    finally:
        p.close()


def test_status_is_retained_online_then_offline(run_consumer, broker, topics, options):
    url, protocol = broker
    consumer = run_consumer()
    watcher = Phone(url, protocol, subscribe=[topics.status(options.client_id)])
    try:
        wait_for(lambda: [b for _, b, _ in watcher.received] == [b"online"])
        consumer.stop()
        wait_for(lambda: [b for _, b, _ in watcher.received] == [b"online", b"offline"])
    finally:
        watcher.close()


def test_flags_and_rejections_reach_the_phone(run_consumer, phone, topics, seeded, now):
    run_consumer()
    phone.publish(topics.punch("1001"), punch(now, "mock", mock=True))
    # 1 km from the depot, whose fence rejects outside punches (hq is further still).
    phone.publish(topics.punch("1002"), punch(now, "far", lat=52.409, lon=13.20))
    # Outside hq (nearest, flag policy): accepted and flagged.
    phone.publish(topics.punch("1003"), punch(now, "near", lat=52.5235, lon=13.405))
    phone.publish(topics.punch("1004"), punch(now, "fuzzy", acc=500))
    wait_for(lambda: len(phone.receipts()) == 4)
    got = {r["id"]: r for r in phone.receipts()}
    assert got["mock"]["status"] == "accepted" and got["mock"]["flags"] == ["mock_location"]
    assert got["far"]["status"] == "rejected" and "outside the fence" in got["far"]["reason"]
    assert got["near"]["status"] == "accepted" and got["near"]["flags"] == ["outside_fence"]
    assert got["fuzzy"]["status"] == "rejected" and "accuracy 500 m" in got["fuzzy"]["reason"]
    with seeded.sessions() as s:
        flags = {p.source_ref: p.flags for p in s.scalars(select(Punch))}
        reasons = sorted(q.reason for q in s.scalars(select(Quarantine)))
    assert flags == {"n:mock": PunchFlag.MOCK_LOCATION, "n:near": PunchFlag.OUTSIDE_FENCE}
    assert len(reasons) == 2 and all(r.startswith("rejected: ") for r in reasons)


BAD_INPUTS = [
    ("not-json", b"lat=52.5", "not JSON"),
    ("array", b"[1, 2]", "not an object"),
    ("wrong-type", json.dumps({"lat": "52.52"}), "lat"),
    ("nan", None, "lat"),
    ("range", json.dumps({"lat": 95.0}), "lat"),
    ("huge", None, f"exceeds {MAX_PAYLOAD_BYTES} bytes"),
    ("version", json.dumps({"schema_version": 7}), "unknown schema_version 7"),
    ("no-version", json.dumps({"schema_version": None}), "missing schema_version"),
    ("naive-ts", json.dumps({"ts": "2026-11-27T10:00:00"}), "offset"),
    ("other-employee", json.dumps({"employee_code": "1005"}), "names employee '1005'"),
]


@pytest.mark.parametrize(("case", "body", "reason"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_quarantined_answered_and_the_consumer_carries_on(
    run_consumer, phone, topics, seeded, now, case, body, reason
):
    run_consumer()
    good = punch(now, f"bad-{case}")
    if case == "nan":
        payload = json.dumps(good).replace('"lat": 52.5201', '"lat": NaN').encode()
    elif case == "huge":
        payload = json.dumps({**good, "pad": "x" * MAX_PAYLOAD_BYTES}).encode()
    elif body is not None and body.startswith(b"{") if isinstance(body, bytes) else body:
        payload = json.dumps({**good, **json.loads(body)}).encode()
    else:
        payload = body
    phone.publish(topics.punch("1001"), payload)
    phone.publish(topics.punch("1001"), punch(now, "after"))
    wait_for(lambda: len(phone.receipts()) == 2)
    first, second = phone.receipts()
    assert first["status"] == "rejected" and reason in first["reason"]
    assert second == {**second, "status": "accepted", "id": "after"}
    with seeded.sessions() as s:
        (q,) = s.scalars(select(Quarantine)).all()
    assert reason in q.reason
    assert q.reference == topics.punch("1001")
    assert count(seeded, Punch) == 1


def test_topic_naming_no_employee_is_quarantined_and_answered(
    run_consumer, phone, topics, seeded, now
):
    run_consumer()
    phone.publish(topics.punch("9999"), punch(now, "ghost"))
    (receipt,) = wait_for(phone.receipts)
    assert receipt == {**receipt, "status": "rejected", "id": "ghost"}
    assert "no employee has code '9999'" in receipt["reason"]
    assert count(seeded, Quarantine) == 1 and count(seeded, Punch) == 0


def test_spoofing_flags_use_the_previous_fix_from_the_store(
    run_consumer, phone, topics, seeded, now
):
    first = run_consumer()
    phone.publish(
        topics.punch("1001"), punch(now, "a", ts=(now - timedelta(minutes=3)).isoformat())
    )
    wait_for(lambda: count(seeded, Punch) == 1)
    first.stop()  # a fresh consumer has nothing cached: the previous fix comes from the store
    run_consumer()
    # Same coordinates to the last decimal, two minutes later.
    phone.publish(
        topics.punch("1001"), punch(now, "b", ts=(now - timedelta(minutes=1)).isoformat())
    )
    wait_for(lambda: len(phone.receipts()) == 2)
    # 40 km away thirty seconds after that: no car does that.
    far = punch(now, "c", lat=52.88, ts=(now - timedelta(seconds=30)).isoformat())
    phone.publish(topics.punch("1001"), far)
    # Queued offline for an hour, then delivered: kept at its own time, flagged.
    phone.publish(topics.punch("1002"), punch(now, "d", ts=(now - timedelta(hours=1)).isoformat()))
    # Two days in the future.
    phone.publish(topics.punch("1003"), punch(now, "e", ts=(now + timedelta(days=2)).isoformat()))
    wait_for(lambda: len(phone.receipts()) == 5)
    flags = {r["id"]: r["flags"] for r in phone.receipts()}
    assert flags["b"] == ["repeated_coordinates"]
    assert flags["c"] == ["outside_fence", "impossible_speed"]
    assert flags["d"] == ["late_delivery"]
    assert flags["e"] == ["future_timestamp"]
    with seeded.sessions() as s:
        late = s.scalars(select(Punch).where(Punch.source_ref == "n:d")).one()
    assert late.occurred_at == now - timedelta(hours=1)
    assert late.flags == PunchFlag.LATE_DELIVERY


def test_on_a_business_trip_day_a_punch_far_from_every_fence_is_accepted(
    run_consumer, phone, topics, seeded, now
):
    with seeded.sessions.begin() as s:
        emp = s.scalar(select(Employee).where(Employee.code == "1002"))
        s.add(
            Leave(
                employee_id=emp.id,
                leave_type="business_trip",
                start_date=now.date(),
                end_date=now.date(),
                part="full",
                created_at=now,
                updated_at=now,
            )
        )
    run_consumer()
    # 1 km from the depot, whose fence rejects outside punches: refused for 1003, not for 1002.
    phone.publish(topics.punch("1002"), punch(now, "trip", lat=52.409, lon=13.20))
    phone.publish(topics.punch("1003"), punch(now, "home", lat=52.409, lon=13.20))
    # 330 m from hq, whose fence flags outside punches: flagged as a trip day's for 1002 only.
    later = now + timedelta(minutes=3)
    phone.publish(topics.punch("1002"), punch(later, "trip-hq", lat=52.523, lon=13.405))
    phone.publish(topics.punch("1003"), punch(later, "hq-out", lat=52.523, lon=13.405))
    wait_for(lambda: len(phone.receipts()) == 4)
    got = {r["id"]: r for r in phone.receipts()}
    assert got["trip"]["status"] == "accepted"
    assert got["trip"]["flags"] == ["outside_fence", "trip_day"]
    assert "business trip on" in got["trip"]["reason"]
    assert got["home"]["status"] == "rejected"
    assert {"outside_fence", "trip_day"} <= set(got["trip-hq"]["flags"])  # and a fast trip
    assert got["hq-out"]["status"] == "accepted" and got["hq-out"]["flags"] == ["outside_fence"]
    with seeded.sessions() as s:
        stored = s.scalar(select(Punch).where(Punch.source_ref == "n:trip"))
    assert stored is not None and stored.flags == PunchFlag.OUTSIDE_FENCE | PunchFlag.TRIP_DAY


def test_break_punches_keep_their_state(run_consumer, phone, topics, seeded, now):
    run_consumer()
    for n, kind in enumerate(("in", "break_out", "break_in", "out")):
        body = punch(now + timedelta(minutes=3 * n), kind, kind=kind, lat=52.5201 + n * 1e-4)
        phone.publish(topics.punch("1002"), body)
    wait_for(lambda: len(phone.receipts()) == 4)
    assert {r["status"] for r in phone.receipts()} == {"accepted"}
    with seeded.sessions() as s:
        rows = s.execute(select(Punch.source_ref, Punch.state)).all()
    assert {ref: state for ref, state in rows} == {
        "n:in": "in",
        "n:break_out": "break_out",
        "n:break_in": "break_in",
        "n:out": "out",
    }
