"""The central side of site agents through the app: enrolment, batches once, quarantine, health."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from collector.normalize import RawPunch, raw_to_json
from collector.runtime import Store, utcnow
from collector.store.models import Device, Punch, Quarantine, SiteAgent
from rules.vocabulary import SourceKind
from tests.collector.agent.support import admin_key, declare_terminal
from tests.ui.conftest import sign_in


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    """The app on this test's store."""
    with TestClient(create_app(store.settings, store)) as c:
        yield c


@pytest.fixture
def admin(store: Store) -> dict[str, str]:
    """An admin key's header."""
    return admin_key(store)


def enrolled(
    client: TestClient, admin: dict[str, str], code: str, terminals: list[str]
) -> dict[str, str]:
    """Create and enrol an agent; its credential's header."""
    made = client.post("/agents", json={"code": code, "terminals": terminals}, headers=admin)
    assert made.status_code == 201, made.text
    reply = client.post("/agent/v1/enrol", json={"token": made.json()["token"], "version": "t"})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['credential']}"}


def punch(
    code: str, device: str, when: str = "2026-11-20T08:00:00", **extra: Any
) -> dict[str, Any]:
    """A forwarded punch item as the agent builds it."""
    raw = RawPunch(
        employee_code=code,
        timestamp=datetime.fromisoformat(when),
        source_kind=SourceKind.TERMINAL,
        tz="UTC",
        device_code=device,
        state=0,
        verify=1,
    )
    return {"punch": raw_to_json(raw) | extra}


def count(store: Store, model: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_is_committed_once_and_its_id_answered_again(client, admin, store):
    declare_terminal(store, "T1", 4370)
    agent = enrolled(client, admin, "A1", ["T1"])
    batch = {"batch_id": "batch-0001", "items": [punch("1", "T1"), punch("2", "T1")]}
    first = client.post("/agent/v1/batches", json=batch, headers=agent)
    assert first.status_code == 200, first.text
    assert (first.json()["batch_id"], first.json()["repeated"], first.json()["inserted"]) == (
        "batch-0001",
        False,
        2,
    )
    again = client.post("/agent/v1/batches", json=batch, headers=agent)
    assert (again.json()["repeated"], again.json()["inserted"]) == (True, 2)
    # The same punches under a new id (a batch re-formed) are recognised by their own keys.
    reformed = client.post(
        "/agent/v1/batches", json=batch | {"batch_id": "batch-0002"}, headers=agent
    ).json()
    assert (reformed["repeated"], reformed["inserted"], reformed["duplicates"]) == (False, 0, 2)
    assert count(store, Punch) == 2
    # Another agent cannot claim the id.
    other = enrolled(client, admin, "A2", [])
    clash = client.post("/agent/v1/batches", json=batch, headers=other)
    assert clash.status_code == 409


def test_bad_items_go_to_quarantine_with_a_reason(client, admin, store):
    declare_terminal(store, "T1", 4370)
    declare_terminal(store, "T2", 4371)
    agent = enrolled(client, admin, "A1", ["T1"])
    items = [
        punch("1", "T1"),
        {"bad": {"reason": "impossible date", "raw": "0c00ff", "device_code": "T1"}},
        punch("2", "T2"),  # another terminal's
        punch("3", "T1", source_kind="manual"),
        punch("4", "T1", timestamp="yesterday"),
        punch("5", "T1", employee_code=5),
        {"neither": True},
        punch("6", "T1", tz="Mars/Base"),  # fails normalisation
    ]
    reply = client.post(
        "/agent/v1/batches", json={"batch_id": "batch-bad-1", "items": items}, headers=agent
    )
    assert reply.status_code == 200, reply.text
    assert (reply.json()["inserted"], reply.json()["quarantined"]) == (1, 7)
    with store.engine.connect() as conn:
        reasons = sorted(conn.scalars(select(Quarantine.reason)))
    assert any(r == "impossible date (site agent A1)" for r in reasons)
    assert any("device 'T2', not one of its terminals" in r for r in reasons)
    assert any("not a terminal's" in r for r in reasons)
    assert sum("unreadable punch from site agent A1" in r for r in reasons) == 3
    assert any("Mars/Base" in r for r in reasons)
    # The punch of a terminal that is not (or no longer) the agent's can be replayed by HR.
    with store.engine.connect() as conn:
        moved = conn.scalar(select(Quarantine.id).where(Quarantine.reason.contains("'T2'")))
    assert client.post(f"/quarantine/{moved}/reprocess", headers=admin).status_code == 200
    with store.engine.connect() as conn:
        assert conn.scalar(select(Punch.employee_code).where(Punch.device_code == "T2")) == "2"


def test_enrolment_tokens_are_single_use_expire_and_die_with_revocation(client, admin, store):
    made = client.post("/agents", json={"code": "A1"}, headers=admin).json()
    assert client.post("/agent/v1/enrol", json={"token": made["token"]}).status_code == 200
    assert client.post("/agent/v1/enrol", json={"token": made["token"]}).status_code == 404
    # A new token moves the agent to a new box: the old credential stops working.
    old = client.post(
        "/agent/v1/enrol",
        json={"token": client.post("/agents/A1/enrolment-token", headers=admin).json()["token"]},
    )
    old_header = {"Authorization": f"Bearer {old.json()['credential']}"}
    health = {"clock": utcnow().isoformat(), "buffer_depth": 0, "buffer_capacity": 10}
    assert client.post("/agent/v1/contact", json=health, headers=old_header).status_code == 200
    moved = client.post("/agents/A1/enrolment-token", headers=admin).json()["token"]
    assert client.post("/agent/v1/enrol", json={"token": moved}).status_code == 200
    assert client.post("/agent/v1/contact", json=health, headers=old_header).status_code == 401
    # Expired.
    late = client.post("/agents/A1/enrolment-token", headers=admin).json()["token"]
    with store.engine.begin() as conn:
        conn.execute(update(SiteAgent).values(enrol_expires_at=utcnow() - timedelta(seconds=1)))
    assert client.post("/agent/v1/enrol", json={"token": late}).status_code == 404
    # Revoked: the pending token dies, and no new one is issued.
    pending = client.post("/agents/A1/enrolment-token", headers=admin).json()["token"]
    assert client.post("/agents/A1/revoke", headers=admin).status_code == 200
    assert client.post("/agent/v1/enrol", json={"token": pending}).status_code == 404
    assert client.post("/agents/A1/enrolment-token", headers=admin).status_code == 409
    # Agent routes need the agent's credential, admin routes an admin key.
    assert client.post("/agent/v1/contact", json=health, headers=admin).status_code == 401
    assert client.get("/agents").status_code == 401


def test_enrolment_tokens_never_look_like_a_command_line_option(client, admin, store):
    # `punchgate-agent enrol URL TOKEN`: a bare urlsafe token starts with "-" one time in 64.
    client.post("/agents", json={"code": "A2"}, headers=admin)
    tokens = [
        client.post("/agents/A2/enrolment-token", headers=admin).json()["token"] for _ in range(200)
    ]
    assert all(t.startswith("pgat_") for t in tokens) and len(set(tokens)) == 200


def test_terminals_are_checked_when_assigned(client, admin, store):
    declare_terminal(store, "T1", 4370)
    with store.sessions.begin() as s:
        s.add(Device(code="P1", kind="push", serial="SN-P1"))
    assert (
        client.post("/agents", json={"code": "A1", "terminals": ["T1"]}, headers=admin).status_code
        == 201
    )
    taken = client.post("/agents", json={"code": "A2", "terminals": ["T1"]}, headers=admin)
    assert taken.status_code == 409 and "read by agent A1" in taken.text
    assert (
        client.post("/agents", json={"code": "A3", "terminals": ["P1"]}, headers=admin).status_code
        == 422
    )
    assert (
        client.post(
            "/agents", json={"code": "A4", "terminals": ["NOPE"]}, headers=admin
        ).status_code
        == 422
    )
    assert client.post("/agents", json={"code": "A1"}, headers=admin).status_code == 409
    assert [a["code"] for a in client.get("/agents", headers=admin).json()] == ["A1"]


def test_contact_keeps_health_and_only_its_own_terminals_status(client, admin, store):
    declare_terminal(store, "T1", 4370, comm_key="1234")
    declare_terminal(store, "T2", 4371)
    agent = enrolled(client, admin, "A1", ["T1"])
    agent_clock = datetime.now(UTC) + timedelta(seconds=90)
    health = {
        "version": "9.9",
        "clock": agent_clock.isoformat(),
        "buffer_depth": 12,
        "buffer_capacity": 1000,
        "warning": "buffer 85% full",
        "terminals": [
            {"code": "T1", "status": "offline", "last_error": "timed out", "clock_skew_s": 10},
            {"code": "T2", "status": "online"},
        ],
    }
    config = client.post("/agent/v1/contact", json=health, headers=agent)
    assert config.status_code == 200, config.text
    terminals = config.json()["terminals"]
    assert [(t["code"], t["secret"], t["port"]) for t in terminals] == [("T1", "1234", 4370)]
    with store.sessions() as s:
        row = s.scalars(select(SiteAgent)).one()
        statuses = dict(s.execute(select(Device.code, Device.status)).all())
        errors = dict(s.execute(select(Device.code, Device.last_error)).all())
    assert (row.version, row.buffer_depth, row.warning) == ("9.9", 12, "buffer 85% full")
    assert row.clock_skew_s is not None and 85 < row.clock_skew_s < 95
    assert statuses == {"T1": "offline", "T2": "unknown"}
    with store.sessions() as s:
        t1_skew = s.scalar(select(Device.clock_skew_s).where(Device.code == "T1"))
    assert t1_skew is not None and 95 < t1_skew < 105  # 10 s ahead of an agent 90 s ahead
    assert errors["T1"] == "timed out"


def test_the_devices_page_shows_agents_and_whom_a_terminal_is_read_by(client, admin, store):
    declare_terminal(store, "T1", 4370)
    agent = enrolled(client, admin, "A1", ["T1"])
    health = {"version": "1.2.3", "clock": utcnow().isoformat(), "buffer_depth": 5}
    assert client.post(
        "/agent/v1/contact", json=health | {"buffer_capacity": 10}, headers=agent
    ).is_success
    page = sign_in(client, admin["Authorization"].removeprefix("Bearer ")).get("/ui/devices")
    assert page.status_code == 200
    assert 'data-agent="A1"' in page.text  # beside terminal T1
    assert 'id="agents"' in page.text and 'data-device="A1"' in page.text
    assert "50.0%" in page.text  # the agent's buffer fill
