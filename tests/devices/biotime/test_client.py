"""The BioTime client against the emulated server over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from devices.biotime.client import BioTimeClient, BioTimeTarget
from devices.biotime.emulator import BioTimeEmulator, BioTimeServer
from devices.biotime.transactions import WireError, parse_page
from devices.errors import DeviceAuthError, DeviceProtocolError, DeviceRefused, DeviceUnreachable

SN = "CQZ7231360001"


@pytest.fixture
def server() -> BioTimeServer:
    state = BioTimeServer(password="bt-pass")
    state.add_terminal(SN, timezone="Asia/Shanghai")
    state.add_terminal("CQZ7231360002", timezone="Europe/Berlin")
    return state


@pytest.fixture
def emulator(server: BioTimeServer) -> Iterator[BioTimeEmulator]:
    with BioTimeEmulator(server) as emu:
        yield emu


def client_for(emulator: BioTimeEmulator, password: str = "bt-pass", **kw) -> BioTimeClient:
    return BioTimeClient(BioTimeTarget("127.0.0.1", emulator.port, password=password, **kw))


def test_jwt_login_and_the_walk_from_the_last_page_back_to_the_cursor(server, emulator):
    server.fill(250, seed=3)
    with client_for(emulator, page_size=50) as client:
        everything = list(client.pages_after(0))
        assert client.scheme == "JWT" and server.logins == ["JWT"]
        ids = sorted(i.id for p in everything for i in p.items)
        assert ids == list(range(1, 251))
        server.queries.clear()
        tail = list(client.pages_after(180))
    # page 1 (for the count), then 5 and 4: page 4 reaches down to id 180
    assert [q["page"] for q in server.queries] == ["1", "5", "4"]
    assert sorted(i.id for p in tail for i in p.items if i.id > 180) == list(range(181, 251))


def test_a_licence_without_jwt_falls_back_to_token_auth(server, emulator):
    server.fill(5)
    server.faults.jwt_forbidden = True
    with client_for(emulator) as client:
        (page,) = list(client.pages_after(0))
        assert client.scheme == "Token" and len(page.items) == 5
    server.faults.jwt_forbidden, server.faults.jwt_missing = False, True
    with client_for(emulator) as client:
        client.login()
        assert client.scheme == "Token"
    with client_for(emulator, auth="jwt") as client, pytest.raises(DeviceRefused, match="404"):
        client.login()


def test_an_expired_token_is_renewed_once(server, emulator):
    server.fill(30)
    server.faults.token_calls = 2
    with client_for(emulator, page_size=10) as client:
        pages = list(client.pages_after(0))
    assert sum(len(p.items) for p in pages) == 30 and server.logins == ["JWT", "JWT"]


def test_refused_credentials_are_an_auth_error(server, emulator):
    with client_for(emulator, password="wrong") as client, pytest.raises(DeviceAuthError):
        client.page(1)


def test_terminal_filter_fields_and_times_stay_wall_clock(server, emulator):
    when = datetime(2026, 11, 26, 9, 0, 5)
    server.add_punch(SN, "7", when, state="0", verify=15)
    server.add_punch("CQZ7231360002", "8", when, state="1", verify=1)
    with client_for(emulator, terminal_sn=SN) as client:
        (page,) = list(client.pages_after(0))
        info = client.terminal_info(SN)
    (item,) = page.items
    assert (item.emp_code, item.punch_time, item.punch_state, item.verify_type) == (
        "7",
        when,
        "0",
        15,
    )
    assert item.punch_time.tzinfo is None and item.terminal_sn == SN
    assert info is not None and info.serial == SN and info.extra["terminal_tz"] == "8"


def test_garbled_and_dropped_pages_are_mapped(server, emulator):
    server.fill(20)
    with client_for(emulator) as client:
        server.faults.garble_page = 1
        with pytest.raises(DeviceProtocolError, match="not JSON"):
            client.page(1)
        server.faults.drop_after_pages = 1
        with pytest.raises(DeviceUnreachable):
            client.page(1)


def test_parse_page_keeps_unreadable_items_apart():
    body = {
        "count": 3,
        "next": None,
        "data": [
            {"id": 1, "emp_code": "5", "punch_time": "2026-11-26 08:00:00", "punch_state": "0"},
            {"id": 2, "emp_code": "5", "punch_time": "26/11/2026 08:00"},
            {"emp_code": "6", "punch_time": "2026-11-26 08:00:00"},
        ],
    }
    page = parse_page(body)
    assert [i.id for i in page.items] == [1]
    assert [reason for reason, _ in page.bad] == [
        "unreadable punch_time: '26/11/2026 08:00'",
        "missing or bad id",
    ]
    with pytest.raises(WireError):
        parse_page({"results": []})
