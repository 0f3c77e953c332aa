"""The /iclock endpoints at unit level (TestClient): uploads, handshake, security, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from api.app import create_app
from collector.push.commands import list_roster
from collector.push.terminals import whole_hour_offset
from collector.store.db import make_sessionmaker
from collector.store.models import Device, Punch, PushRosterEntry, Quarantine
from devices.zk.push.wire import parse_options
from tests.push_support import add_push_device, counts, device

SN = "SIM0001"
ATT = f"/iclock/cdata?SN={SN}&table=ATTLOG"


@pytest.fixture
def client(store):
    add_push_device(store)
    with TestClient(create_app(store=store)) as c:
        yield c


def test_attlog_upload_stores_punches_in_the_terminals_zone(client, store):
    body = "1001\t2026-03-02 09:00:05\t0\t15\t0\t0\n1002\t2026-07-01 17:30:00\t1\t1\t0\t0\n"
    reply = client.post(ATT + "&Stamp=2", content=body)
    assert (reply.status_code, reply.text) == (200, "OK")
    with store.sessions() as s:
        rows = s.execute(
            select(
                Punch.employee_code, Punch.occurred_at, Punch.state, Punch.verify, Punch.tz
            ).order_by(Punch.occurred_at)
        ).all()
    # Berlin is UTC+1 in March and UTC+2 in July.
    assert [tuple(r) for r in rows] == [
        ("1001", datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC), "in", "face", "Europe/Berlin"),
        ("1002", datetime(2026, 7, 1, 15, 30, tzinfo=UTC), "out", "fingerprint", "Europe/Berlin"),
    ]
    dev = device(store)
    assert dev.status == "online"
    assert dev.last_seen_at is not None
    assert dev.reported_until == datetime(2026, 7, 1, 15, 30, tzinfo=UTC)
    assert dev.sync_state["ATTLOGStamp"] == "2"


def test_same_batch_twice_is_stored_once(client, store):
    body = "".join(f"1001\t2026-03-02 09:{m:02d}:00\t0\t15\n" for m in range(30))
    for _ in range(3):
        assert client.post(ATT + "&Stamp=30", content=body).text == "OK"
    assert counts(store) == (30, 0)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/iclock/cdata/?SN={SN}&table=ATTLOG", "1001\t2026-03-02 09:00:05\t0\t15\r\n"),
        (f"/iclock/cdata?sn={SN}&TABLE=ATTLOG", "TABLE=ATTLOG\n1001\t2026-03-02 09:00:05\n"),
        (
            f"/iclock/cdata.aspx?SN={SN}",
            "TABLE=ATTLOG\r\n1001\t2026-03-02 09:00:05\t0\t15\t0\t0\t0",
        ),
    ],
)
def test_variants_real_terminals_send(client, store, path, body):
    assert client.post(path, content=body).text == "OK"
    with store.sessions() as s:
        assert s.scalars(select(Punch.occurred_at)).all() == [
            datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
        ]


def test_garbage_lines_are_quarantined_with_line_numbers_and_good_lines_stored(client, store):
    body = (
        "1001\t2026-03-02 09:00:05\t0\t15\n"
        "1002\t2026-02-30 09:00:05\t0\t15\n"
        "\n"
        "\x00\x01binary junk\n"
        "1003\t2026-03-02 09:05:00\t1\t15\n"
        + "9" * 80
        + "\t2026-03-02 09:06:00\t1\t15\n"  # too long for an employee code
    )
    assert client.post(ATT + "&Stamp=6", content=body).text == "OK"
    with store.sessions() as s:
        codes = s.scalars(select(Punch.employee_code).order_by(Punch.employee_code)).all()
        bad = s.execute(
            select(Quarantine.reference, Quarantine.reason, Quarantine.source_kind).order_by(
                Quarantine.reference
            )
        ).all()
    assert codes == ["1001", "1003"]
    assert [tuple(b) for b in bad] == [
        (f"SN={SN} ATTLOG Stamp=6 line 2", "unreadable time '2026-02-30 09:00:05'", "push"),
        (f"SN={SN} ATTLOG Stamp=6 line 4", "not a PIN, time, status… record", "push"),
        (f"SN={SN} ATTLOG Stamp=6 line 6", "employee code longer than 64 characters", "push"),
    ]
    # Re-sending the batch adds nothing anywhere.
    assert client.post(ATT + "&Stamp=6", content=body).text == "OK"
    assert counts(store) == (2, 3)


def test_handshake_answers_stamps_and_zone_from_the_store(client, store):
    client.post(ATT + "&Stamp=77", content="1001\t2026-03-02 09:00:05\t0\t15\n")
    client.post(
        f"/iclock/cdata?SN={SN}&table=OPERLOG&Stamp=5", content="USER PIN=1001\tName=Anna\n"
    )
    reply = client.get(f"/iclock/cdata?SN={SN}&options=all&pushver=3.1.2&language=69")
    options = parse_options(reply.text)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert (options["ATTLOGStamp"], options["OPERLOGStamp"]) == ("77", "5")
    assert options["Realtime"] == "1"
    assert int(options["TimeZone"]) == whole_hour_offset("Europe/Berlin", datetime.now(UTC))


def test_half_hour_zone_gets_no_timezone_option(store):
    add_push_device(store, serial="IN01", code="india", timezone="Asia/Kolkata")
    with TestClient(create_app(store=store)) as c:
        options = parse_options(c.get("/iclock/cdata?SN=IN01&options=all").text)
    assert "TimeZone" not in options
    assert options["SN"] == "IN01"


def test_operlog_user_lines_update_the_terminals_roster(client, store):
    body = (
        "USER PIN=1001\tName=Anna Weber\tPri=0\tPasswd=\tCard=77\tGrp=1\n"
        "FP PIN=1001\tFID=1\tSize=4\tValid=1\tTMP=AAAA\n"
        "OPLOG 4\t0\t2026-03-02 09:00:05\t1001\t0\t0\t0\n"
        "USER PIN=1002\tName=Ben Li\n"
        "nonsense\n"
    )
    for _ in range(2):  # a re-sent upload changes nothing
        assert (
            client.post(f"/iclock/cdata?SN={SN}&table=OPERLOG&Stamp=3", content=body).text == "OK"
        )
    with store.sessions() as s:
        roster = s.execute(
            select(
                PushRosterEntry.pin,
                PushRosterEntry.name,
                PushRosterEntry.card,
                PushRosterEntry.templates,
            ).order_by(PushRosterEntry.pin)
        ).all()
        bad = s.scalars(select(Quarantine.reference)).all()
    assert [tuple(r) for r in roster] == [
        ("1001", "Anna Weber", "77", 1),
        ("1002", "Ben Li", "", 0),
    ]
    assert bad == [f"SN={SN} OPERLOG Stamp=3 line 5"]
    assert device(store).user_count == 2
    with store.sessions() as s:
        listed = list_roster(s, device_code="face-1")
    assert [(r.pin, r.name, r.templates) for r in listed] == [
        ("1001", "Anna Weber", 1),
        ("1002", "Ben Li", 0),
    ]


def test_unknown_serial_is_refused_and_nothing_stored(client, store):
    reply = client.post(
        "/iclock/cdata?SN=STRANGER&table=ATTLOG", content="1\t2026-03-02 09:00:05\n"
    )
    assert reply.status_code == 403
    assert client.get("/iclock/cdata?SN=STRANGER&options=all").status_code == 403
    assert client.get("/iclock/getrequest?SN=STRANGER").status_code == 403
    assert counts(store) == (0, 0)
    with store.sessions() as s:
        assert s.scalar(select(Device).where(Device.serial == "STRANGER")) is None
    assert client.get("/iclock/cdata?options=all").status_code == 400  # no SN at all
    assert client.get("/iclock/cdata?SN=bad%20serial&options=all").status_code == 400


def test_pending_approval_holds_the_terminal_until_approved(store):
    from collector.push.terminals import approve

    store.settings = store.settings.model_copy(update={"push_unknown_serials": "pending"})
    body = "1001\t2026-03-02 09:00:05\t0\t15\n"
    with TestClient(create_app(store=store)) as c:
        first = c.post("/iclock/cdata?SN=NEW0001&table=ATTLOG&Stamp=1", content=body)
        again = c.post("/iclock/cdata?SN=NEW0001&table=ATTLOG&Stamp=1", content=body)
        assert (first.status_code, again.status_code) == (403, 403)
        assert counts(store) == (0, 0)  # nothing stored, no OK: the terminal keeps its records
        held = device(store, "NEW0001")
        assert (held.enabled, held.status, held.kind) == (False, "pending", "push")
        approve(store, serial="NEW0001", code="lobby", timezone="Asia/Tokyo")
        assert c.post("/iclock/cdata?SN=NEW0001&table=ATTLOG&Stamp=1", content=body).text == "OK"
    with store.sessions() as s:
        assert s.execute(select(Punch.device_code, Punch.occurred_at)).one() == (
            "lobby",
            datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC),
        )


def test_per_terminal_token(store):
    add_push_device(store, serial="TOK1", code="tok", token="s3cret")
    body = "1001\t2026-03-02 09:00:05\t0\t15\n"
    with TestClient(create_app(store=store)) as c:
        assert c.post("/iclock/cdata?SN=TOK1&table=ATTLOG", content=body).status_code == 401
        wrong = c.post("/iclock/cdata?SN=TOK1&table=ATTLOG&token=guess", content=body)
        assert wrong.status_code == 401
        assert counts(store) == (0, 0)
        ok = c.post("/iclock/cdata?SN=TOK1&table=ATTLOG&token=s3cret", content=body)
        header = c.post(
            "/iclock/cdata?SN=TOK1&table=ATTLOG",
            content=body,
            headers={"X-Punchgate-Token": "s3cret"},
        )
        assert (ok.text, header.text) == ("OK", "OK")
    assert counts(store) == (1, 0)


def test_body_size_limit(store):
    add_push_device(store)
    store.settings = store.settings.model_copy(update={"push_max_body_bytes": 2048})
    line = "1001\t2026-03-02 09:00:05\t0\t15\n"
    with TestClient(create_app(store=store)) as c:
        big = c.post(ATT, content=line * 100)  # ~3 KB
        assert big.status_code == 413
        assert counts(store) == (0, 0)

        def chunks():  # no Content-Length: the limit holds while streaming too
            for _ in range(100):
                yield line.encode()

        assert c.post(ATT, content=chunks()).status_code == 413
        assert c.post(ATT, content=line * 10).text == "OK"
    assert counts(store) == (1, 0)


def test_per_terminal_rate_limit(store):
    add_push_device(store)
    add_push_device(store, serial="OTHER1", code="other")
    store.settings = store.settings.model_copy(
        update={"push_rate_per_s": 0.01, "push_rate_burst": 3}
    )
    with TestClient(create_app(store=store)) as c:
        replies = [c.get(f"/iclock/getrequest?SN={SN}") for _ in range(5)]
        assert [r.status_code for r in replies] == [200, 200, 200, 429, 429]
        assert int(replies[3].headers["Retry-After"]) >= 1
        # Another terminal has its own allowance.
        assert c.get("/iclock/getrequest?SN=OTHER1").status_code == 200


def test_store_unavailable_answers_503_then_recovers(client, store):
    body = "1001\t2026-03-02 09:00:05\t0\t15\n"
    engine, sessions = store.engine, store.sessions
    dead = create_engine("sqlite:////nonexistent-dir/punchgate/dead.sqlite3")
    store.engine, store.sessions = dead, make_sessionmaker(dead)
    try:
        reply = client.post(ATT + "&Stamp=1", content=body)
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "10"
        assert client.get(f"/iclock/cdata?SN={SN}&options=all").status_code == 503
    finally:
        store.engine, store.sessions = engine, sessions
        dead.dispose()
    assert client.post(ATT + "&Stamp=1", content=body).text == "OK"
    assert counts(store) == (1, 0)


def test_registry_and_ping_keep_status(client, store):
    reply = client.post(
        f"/iclock/registry?SN={SN}",
        content="DeviceType=att,~DeviceName=SpeedFace-V5L,FirmVer=8.0.4",
    )
    assert reply.text == "OK"
    assert client.get(f"/iclock/ping?SN={SN}").text == "OK"
    dev = device(store)
    assert (dev.status, dev.firmware, dev.platform) == ("online", "8.0.4", "SpeedFace-V5L")


def test_unkept_tables_are_counted_not_lost_silently(client, store):
    reply = client.post(f"/iclock/cdata?SN={SN}&table=ATTPHOTO&Stamp=9", content="PIN=1\nSize=3\n")
    assert reply.text == "OK"
    state = device(store).sync_state
    assert state["ignored"] == {"ATTPHOTO": 2}
    assert state["ATTPHOTOStamp"] == "9"


def test_pending_rows_are_capped(store, monkeypatch):
    from collector.push import terminals

    monkeypatch.setattr(terminals, "MAX_PENDING", 2)
    store.settings = store.settings.model_copy(update={"push_unknown_serials": "pending"})
    with TestClient(create_app(store=store)) as c:
        replies = [c.get(f"/iclock/cdata?SN=RANDOM{i}&options=all") for i in range(4)]
    assert [r.status_code for r in replies] == [403] * 4
    with store.sessions() as s:
        assert s.scalars(select(Device.serial).order_by(Device.serial)).all() == [
            "RANDOM0",
            "RANDOM1",
        ]


def test_a_device_with_a_broken_zone_quarantines_lines_and_still_answers(store):
    add_push_device(store, serial="MARS1", code="mars", timezone="Mars/Olympus")
    with TestClient(create_app(store=store)) as c:
        reply = c.post("/iclock/cdata?SN=MARS1&table=ATTLOG", content="1\t2026-03-02 09:00:05\n")
    assert reply.text == "OK"
    with store.sessions() as s:
        assert s.scalars(select(Quarantine.reason)).all() == ["unknown timezone 'Mars/Olympus'"]
