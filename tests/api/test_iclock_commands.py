"""Commands through /iclock/getrequest and /iclock/devicecmd, queued by the collector service."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from collector.outbound.events import EventType
from collector.push.commands import (
    CommandError,
    CommandRefused,
    get_command,
    list_commands,
    queue_command,
)
from collector.runtime import utcnow
from collector.store.models import Device, PushCommand, Quarantine
from devices.zk.push.wire import from_zk_time, parse_command_line
from tests.collector.outbound.test_outbox import check_schema, outbox
from tests.factories import add_employee
from tests.outbound_support import add_webhook
from tests.push_support import add_push_device, device

SN = "SIM0001"


@pytest.fixture
def client(store):
    add_push_device(store)
    with TestClient(create_app(store=store)) as c:
        yield c


def queue(store, kind, **kw):
    with store.sessions.begin() as s:
        return queue_command(
            s, device_code="face-1", kind=kind, requested_by="hr", now=utcnow(), **kw
        )


def test_nothing_queued_answers_ok(client):
    assert client.get(f"/iclock/getrequest?SN={SN}").text == "OK"


def test_roster_sync_round_trip(client, store, now):
    with store.sessions.begin() as s:
        add_employee(s, "1001", now, name="Anna Weber")
        add_employee(s, "1002", now, name="Ben\tLi")
    views = queue(store, "sync_roster")
    assert [v.status for v in views] == ["queued", "queued"]
    lines = client.get(f"/iclock/getrequest?SN={SN}").text.splitlines()
    parsed = [parse_command_line(line) for line in lines]
    assert [p[0] for p in parsed] == [v.id for v in views]
    assert parsed[0][1] == "DATA UPDATE USERINFO PIN=1001\tName=Anna Weber\tPri=0"
    assert parsed[1][1] == "DATA UPDATE USERINFO PIN=1002\tName=Ben Li\tPri=0"
    # Handed out once: the next poll has nothing until the resend timeout.
    assert client.get(f"/iclock/getrequest?SN={SN}").text == "OK"
    body = f"ID={views[0].id}&Return=0&CMD=DATA\nID={views[1].id}&Return=-1002&CMD=DATA\n"
    assert client.post(f"/iclock/devicecmd?SN={SN}", content=body).text == "OK"
    with store.sessions() as s:
        first = get_command(s, command_id=views[0].id)
        second = get_command(s, command_id=views[1].id)
        done = list_commands(s, device_code="face-1", status="done")
    assert first is not None and second is not None
    assert (first.status, first.return_code, first.attempts) == ("done", 0, 1)
    assert (second.status, second.return_code) == ("failed", -1002)
    assert [v.id for v in done] == [views[0].id]


def test_set_clock_is_rendered_at_hand_out_in_the_devices_zone(client, store):
    [view] = queue(store, "set_clock")
    before = utcnow()
    [line] = client.get(f"/iclock/getrequest?SN={SN}").text.splitlines()
    after = utcnow()
    command_id, command = parse_command_line(line)
    assert command_id == view.id
    local = from_zk_time(int(command.removeprefix("SET OPTION DateTime=")))
    zone = ZoneInfo(device(store).timezone)
    assert before.astimezone(zone).replace(tzinfo=None, microsecond=0) <= local
    assert local <= after.astimezone(zone).replace(tzinfo=None)


def test_unanswered_command_is_handed_out_again_then_given_up(client, store):
    [view] = queue(store, "reboot")
    assert client.get(f"/iclock/getrequest?SN={SN}").text == f"C:{view.id}:REBOOT\n"
    for attempt in range(2, 6):
        with store.sessions.begin() as s:  # as if the resend timeout had passed
            cmd = s.get(PushCommand, view.id)
            cmd.sent_at = cmd.sent_at - timedelta(hours=1)
        assert client.get(f"/iclock/getrequest?SN={SN}").text == f"C:{view.id}:REBOOT\n"
        with store.sessions() as s:
            assert s.get(PushCommand, view.id).attempts == attempt
    with store.sessions.begin() as s:
        cmd = s.get(PushCommand, view.id)
        cmd.sent_at = cmd.sent_at - timedelta(hours=1)
    assert client.get(f"/iclock/getrequest?SN={SN}").text == "OK"
    with store.sessions() as s:
        assert s.get(PushCommand, view.id).status == "failed"


def test_clear_log_only_after_a_confirmed_full_upload(client, store):
    with pytest.raises(CommandRefused):  # the terminal has not said how many records it holds
        queue(store, "clear_log")
    client.get(f"/iclock/getrequest?SN={SN}&INFO=Ver 8.0.4,0,0,3,10.0.0.9")
    client.post(
        f"/iclock/cdata?SN={SN}&table=ATTLOG&Stamp=2",
        content="1001\t2026-03-02 09:00:05\t0\t15\n1002\t2026-03-02 09:00:06\t0\t15\n",
    )
    with pytest.raises(CommandRefused, match="reports 3 records and the store holds 2"):
        queue(store, "clear_log")
    client.post(f"/iclock/cdata?SN={SN}&table=ATTLOG&Stamp=3", content="junk line\n")
    [view] = queue(store, "clear_log")  # two punches and one quarantined line = 3
    # The terminal made another punch since: held back while it reports more than is stored.
    assert client.get(f"/iclock/getrequest?SN={SN}&INFO=Ver 8.0.4,0,0,4,10.0.0.9").text == "OK"
    client.post(
        f"/iclock/cdata?SN={SN}&table=ATTLOG&Stamp=4", content="1003\t2026-03-02 10:00:00\n"
    )
    reply = client.get(f"/iclock/getrequest?SN={SN}&INFO=Ver 8.0.4,0,0,4,10.0.0.9")
    assert reply.text == f"C:{view.id}:CLEAR LOG\n"
    client.post(f"/iclock/devicecmd?SN={SN}", content=f"ID={view.id}&Return=0&CMD=CLEAR\n")
    dev = device(store)
    assert dev.sync_state["cleared_at"]
    assert dev.record_count == 0


def test_bad_and_foreign_results_are_quarantined(client, store):
    add_push_device(store, serial="OTHER1", code="other")
    with store.sessions.begin() as s:
        [foreign] = queue_command(
            s, device_code="other", kind="info", requested_by="hr", now=utcnow()
        )
    body = f"ID={foreign.id}&Return=0&CMD=INFO\nID=&Return=x\n"
    assert client.post(f"/iclock/devicecmd?SN={SN}", content=body).text == "OK"
    with store.sessions() as s:
        reasons = sorted(s.scalars(select(Quarantine.reason)))
        assert s.get(PushCommand, foreign.id).status == "queued"  # not this terminal's to answer
    assert reasons == [
        "command result without a numeric ID and Return",
        "result for an unknown command",
    ]


def test_queue_refuses_unknown_device_and_kind(client, store):
    with pytest.raises(CommandError):
        queue(store, "format_disk")
    with store.sessions.begin() as s, pytest.raises(CommandError):
        queue_command(s, device_code="nope", kind="reboot", requested_by="hr", now=utcnow())


def test_a_poll_marks_silent_terminals_offline(client, store):
    add_push_device(store, serial="QUIET1", code="quiet")
    client.get("/iclock/getrequest?SN=QUIET1")
    assert device(store, "QUIET1").status == "online"


def test_a_silent_push_terminal_is_a_device_offline_event_and_its_return_one_online(client, store):
    add_webhook(
        store,
        "http://127.0.0.1:9/x",
        utcnow(),
        events=[EventType.DEVICE_OFFLINE, EventType.DEVICE_ONLINE],
    )
    add_push_device(store, serial="QUIET1", code="quiet")
    client.get("/iclock/getrequest?SN=QUIET1")  # first seen: not news
    with store.sessions.begin() as s:
        quiet = s.scalar(select(Device).where(Device.serial == "QUIET1"))
        quiet.last_seen_at = utcnow() - timedelta(minutes=10)
    client.get(f"/iclock/getrequest?SN={SN}")  # SIM0001's poll notices the silence
    client.get(f"/iclock/getrequest?SN={SN}")  # already offline: told once
    client.get("/iclock/ping?SN=QUIET1")  # back
    client.get("/iclock/getrequest?SN=QUIET1")  # still online: nothing new
    bodies = [json.loads(str(m.payload)) for m in outbox(store.engine)]
    assert [(b["type"], b["data"]["device_code"]) for b in bodies] == [
        ("device.offline", "quiet"),
        ("device.online", "quiet"),
    ]
    for body in bodies:
        check_schema(body)
    assert "no request for more than" in bodies[0]["data"]["error"]
    with store.sessions.begin() as s:
        quiet = s.scalar(select(Device).where(Device.serial == "QUIET1"))
        quiet.last_seen_at = utcnow() - timedelta(minutes=10)
    client.get(f"/iclock/getrequest?SN={SN}")
    assert (device(store, "QUIET1").status, device(store).status) == ("offline", "online")
    client.get("/iclock/getrequest?SN=QUIET1")
    assert device(store, "QUIET1").status == "online"
