"""Hikvision event notifications posted to /hik/{code}: JSON and multipart, after commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from api.app import create_app
from collector.config import apply_config, parse_config
from collector.store.db import make_sessionmaker
from collector.store.models import Device, Punch, Quarantine
from devices.hikvision.notify import notification_body

EVENT = {
    "major": 5,
    "minor": 75,
    "time": "2026-11-26T09:00:00+08:00",
    "serialNo": 41,
    "employeeNoString": "1001",
    "name": "Anna",
    "attendanceStatus": "checkIn",
    "currentVerifyMode": "faceOrFpOrCardOrPw",
    "pictureURL": "http://192.0.2.1/LOCALS/pic/1.jpg",
}


def add_hik(store, now, code: str, **fields) -> None:
    device = {"code": code, "kind": "hik", "timezone": "Asia/Shanghai", **fields}
    with store.sessions.begin() as session:
        apply_config(session, parse_config({"devices": [device]}), now=now, box=store.box)


@pytest.fixture
def client(store, now):
    add_hik(store, now, "gate", options={"push_token": "t0k"})
    add_hik(store, now, "lan", host="192.0.2.50")
    with TestClient(create_app(store=store)) as c:
        yield c


def punches(store) -> list[tuple[str, datetime, str, str, str]]:
    with store.sessions() as s:
        rows = s.execute(
            select(Punch.employee_code, Punch.occurred_at, Punch.state, Punch.verify, Punch.tz)
        ).all()
    return [(c, t.replace(tzinfo=UTC), st, v, z) for c, t, st, v, z in rows]


def multipart(payload: dict[str, Any], boundary: str = "MIME_boundary") -> tuple[bytes, str]:
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="AccessControllerEvent"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode() + json.dumps(payload).encode()
    body += (
        (
            f"\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8\xff\xe0"
        + bytes(range(256)) * 40
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_json_notification_becomes_one_push_punch_and_a_repeat_stores_nothing(client, store):
    body = json.dumps(notification_body(EVENT))
    for _ in range(2):
        reply = client.post(
            "/hik/gate?token=t0k", content=body, headers={"content-type": "application/json"}
        )
        assert (reply.status_code, reply.text) == (200, "OK")
    assert punches(store) == [
        ("1001", datetime(2026, 11, 26, 1, 0, tzinfo=UTC), "in", "face", "Asia/Shanghai")
    ]
    with store.sessions() as s:
        punch = s.scalars(select(Punch)).one()
        device = s.scalars(select(Device).where(Device.code == "gate")).one()
    assert punch.source_kind == "push" and "pictureURL" not in (punch.raw or "")
    assert device.status == "online" and device.last_seen_at is not None
    # How far the terminal has delivered: the site's days wait for it as for ZK terminals.
    assert device.reported_until == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    earlier = {**EVENT, "serialNo": 40, "time": "2026-11-26T08:00:00+08:00"}
    reply = client.post("/hik/gate?token=t0k", json=notification_body(earlier))
    assert reply.status_code == 200
    with store.sessions() as s:
        until = s.scalar(select(Device.reported_until).where(Device.code == "gate"))
    assert until == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # a late event never moves it back


def test_multipart_keeps_the_json_and_drops_the_picture(client, store):
    event = {**EVENT, "minor": 38, "serialNo": 42, "attendanceStatus": "breakOut"}
    body, kind = multipart(notification_body(event))
    reply = client.post("/hik/gate?token=t0k", content=body, headers={"content-type": kind})
    assert reply.status_code == 200
    ((code, _, state, verify, _),) = punches(store)
    assert (code, state, verify) == ("1001", "break_out", "fingerprint")
    with store.sessions() as s:
        assert b"\xff\xd8" not in (s.scalars(select(Punch.raw)).one() or "").encode()


def test_door_events_and_heartbeats_are_acknowledged_not_stored(client, store):
    door = notification_body({**EVENT, "minor": 21, "employeeNoString": ""})
    beat = {"ipAddress": "192.0.2.1", "dateTime": EVENT["time"], "eventType": "heartBeat"}
    for payload in (door, beat):
        reply = client.post("/hik/gate?token=t0k", json=payload)
        assert reply.status_code == 200
    assert punches(store) == []


def test_garbage_is_quarantined_and_acknowledged(client, store):
    reply = client.post(
        "/hik/gate?token=t0k", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200
    with store.sessions() as s:
        (item,) = s.scalars(select(Quarantine)).all()
    assert item.device_code == "gate" and "not JSON" in item.reason


def test_a_notification_nested_20000_deep_is_quarantined_with_its_reason(client, store, caplog):
    deep = b'{"eventType": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    reply = client.post(
        "/hik/gate?token=t0k", content=deep, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200
    with store.sessions() as s:
        (item,) = s.scalars(select(Quarantine)).all()
    assert "not a JSON object within limits" in item.reason
    assert "RecursionError" not in item.reason and "Traceback" not in caplog.text


def test_wrong_token_wrong_address_and_unknown_device_are_refused(client, store):
    body = notification_body(EVENT)
    assert client.post("/hik/gate?token=nope", json=body).status_code == 401
    assert client.post("/hik/gate", json=body).status_code == 401
    # "lan" has an IP address: the test client calls from elsewhere.
    assert client.post("/hik/lan", json=body).status_code == 401
    assert client.post("/hik/nobody", json=body).status_code == 403
    assert punches(store) == []


def test_store_away_answers_503_then_the_repost_is_stored(client, store):
    body = notification_body(EVENT)
    engine, sessions = store.engine, store.sessions
    dead = create_engine("sqlite:////nonexistent-dir/punchgate/dead.sqlite3")
    store.engine, store.sessions = dead, make_sessionmaker(dead)
    try:
        reply = client.post("/hik/gate?token=t0k", json=body)
    finally:
        store.engine, store.sessions = engine, sessions
        dead.dispose()
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "10"
    assert client.post("/hik/gate?token=t0k", json=body).status_code == 200
    assert len(punches(store)) == 1


def test_the_push_token_is_write_only_in_the_devices_api(client, store, now):
    from collector.apikeys import Role, create_key
    from tests.api.conftest import auth

    with store.sessions.begin() as s:
        viewer = create_key(s, name="v", role=Role.VIEWER, now=now).token
        admin = create_key(s, name="a", role=Role.ADMIN, now=now).token
    for token in (viewer, admin):
        listed = client.get("/devices", headers=auth(token))
        if listed.status_code != 200:
            continue  # a role that may not list devices sees no token either
        [gate] = [d for d in listed.json() if d["code"] == "gate"]
        assert gate["options"]["push_token"] == "(set)"
        assert "t0k" not in listed.text
    # Sending back what GET showed keeps the token; the terminal still gets in with it.
    [gate] = [d for d in client.get("/devices", headers=auth(admin)).json() if d["code"] == "gate"]
    changed = client.patch(
        f"/devices/{gate['id']}",
        json={"options": {**gate["options"], "note": "lobby"}},
        headers=auth(admin),
    )
    assert changed.status_code == 200, changed.text
    with store.sessions() as s:
        assert s.scalars(select(Device).where(Device.code == "gate")).one().options == {
            "push_token": "t0k",
            "note": "lobby",
        }
