"""HR queues push-terminal commands through the API; the terminal runs them; all audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from collector.runtime import Store
from collector.store.models import AuditLog, Device
from devices.zk.push.wire import parse_command_line
from tests.api.conftest import auth
from tests.factories import add_employee
from tests.push_support import add_push_device

SN = "SIM0001"


@pytest.fixture
def client(store):
    add_push_device(store)
    with TestClient(create_app(store=store)) as c:
        yield c


def device_id(store: Store) -> int:
    with store.sessions() as s:
        return s.scalars(select(Device.id).where(Device.serial == SN)).one()


def test_hr_syncs_the_roster_and_sees_the_result(client, store, keys, now):
    with store.sessions.begin() as s:
        add_employee(s, "1001", now, name="Anna Weber")
    dev = device_id(store)
    made = client.post(
        f"/devices/{dev}/commands",
        json={"kind": "sync_roster", "reason": "new starter"},
        headers=auth(keys.hr),
    )
    assert made.status_code == 201, made.text
    [cmd] = made.json()
    assert (cmd["kind"], cmd["status"], cmd["device_code"]) == ("sync_roster", "queued", "face-1")
    [line] = client.get(f"/iclock/getrequest?SN={SN}").text.splitlines()
    assert parse_command_line(line) == (
        cmd["id"],
        "DATA UPDATE USERINFO PIN=1001\tName=Anna Weber\tPri=0",
    )
    client.post(f"/iclock/devicecmd?SN={SN}", content=f"ID={cmd['id']}&Return=0&CMD=DATA\n")
    done = client.get(f"/commands/{cmd['id']}", headers=auth(keys.hr)).json()
    assert (done["status"], done["return_code"]) == ("done", 0)
    listed = client.get(f"/devices/{dev}/commands", headers=auth(keys.hr)).json()
    assert [c["id"] for c in listed] == [cmd["id"]]
    with store.sessions() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "command:sync_roster")).one()
    assert entry.reason == "new starter" and entry.actor.endswith(":hr")


def test_clear_log_is_refused_until_a_full_upload_is_confirmed(client, store, keys):
    dev = device_id(store)
    refused = client.post(
        f"/devices/{dev}/commands",
        json={"kind": "clear_log", "reason": "memory nearly full"},
        headers=auth(keys.hr),
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "wait for a full upload" in refused.json()["detail"]


def test_commands_need_a_reason_a_known_kind_and_a_push_terminal(client, store, keys):
    dev = device_id(store)
    no_reason = client.post(
        f"/devices/{dev}/commands", json={"kind": "reboot"}, headers=auth(keys.hr)
    )
    assert no_reason.status_code == 422
    bad_kind = client.post(
        f"/devices/{dev}/commands", json={"kind": "format", "reason": "x"}, headers=auth(keys.hr)
    )
    assert bad_kind.status_code == 422
    missing = client.get("/commands/999", headers=auth(keys.hr))
    assert missing.status_code == 404
    viewer = client.get(f"/devices/{dev}/commands", headers=auth(keys.viewer))
    assert viewer.status_code == 403
