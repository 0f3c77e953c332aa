"""The ISAPI client against the emulated terminal over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from devices.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceUnreachable,
)
from devices.hikvision.client import ISAPIClient, ISAPITarget
from devices.hikvision.emulator import HikEmulator, HikTerminal
from devices.hikvision.events import parse_event


@pytest.fixture
def terminal() -> HikTerminal:
    return HikTerminal(timezone="Asia/Shanghai")


@pytest.fixture
def emulator(terminal: HikTerminal) -> Iterator[HikEmulator]:
    with HikEmulator(terminal) as emu:
        yield emu


def client_for(emulator: HikEmulator, password: str = "hik12345") -> ISAPIClient:
    return ISAPIClient(ISAPITarget("127.0.0.1", emulator.port, password=password, timeout=5))


def whole_window(client: ISAPIClient) -> tuple[datetime, datetime]:
    clock = client.clock()
    return datetime(2000, 1, 1, tzinfo=clock.tzinfo), clock + timedelta(days=1)


def test_search_pages_by_thirty_with_one_search_id_until_ok(terminal, emulator):
    terminal.fill(100, seed=7)
    with client_for(emulator) as client:
        pages = list(client.search(*whole_window(client), begin_serial=1))
    serials = [e.serial for p in pages for e in p.events]
    assert serials == list(range(1, len(terminal.events) + 1))
    assert [len(p.events) for p in pages[:-1]] == [30] * (len(pages) - 1)
    assert [p.more for p in pages] == [True] * (len(pages) - 1) + [False]
    conds = list(terminal.conditions)
    assert len({c["searchID"] for c in conds}) == 1
    assert [c["searchResultPosition"] for c in conds] == [30 * i for i in range(len(pages))]


def test_begin_serial_bounds_the_search_and_nothing_matching_ends_it(terminal, emulator):
    terminal.fill(40, seed=3)
    last = terminal.events[-1]["serialNo"]
    with client_for(emulator) as client:
        window = whole_window(client)
        tail = [e.serial for p in client.search(*window, begin_serial=last - 2) for e in p.events]
        none = list(client.search(*window, begin_serial=last + 1))
        newest = client.newest_serial(*window)
    assert tail == [last - 2, last - 1, last]
    assert len(none) == 1 and none[0].events == [] and not none[0].more
    assert newest == last


def test_device_info_and_clock_carry_identity_and_offset(terminal, emulator):
    terminal.skew_s = 600
    with client_for(emulator) as client:
        info = client.device_info()
        clock = client.clock()
    assert info.serial == terminal.serial_number and info.platform == terminal.model
    assert info.firmware and info.firmware.startswith(terminal.firmware)
    assert clock.utcoffset() == timedelta(hours=8)
    skew = (clock - datetime.now(clock.tzinfo)).total_seconds()
    assert 590 < skew < 610


def test_wrong_password_is_an_auth_error(terminal, emulator):
    with client_for(emulator, password="wrong") as client, pytest.raises(DeviceAuthError):
        client.clock()


def test_push_only_firmware_is_refused_with_not_support(terminal, emulator):
    terminal.faults.push_only = True
    with client_for(emulator) as client, pytest.raises(DeviceRefused, match="notSupport"):
        list(client.search(*whole_window(client)))


def test_garbled_reply_and_dropped_link_are_device_errors(terminal, emulator):
    terminal.fill(70)
    terminal.faults.garble_search = 2
    with client_for(emulator) as client, pytest.raises(DeviceProtocolError):
        list(client.search(*whole_window(client)))
    terminal.faults.garble_search = None
    terminal.faults.drop_after_pages = terminal.searches + 1
    with client_for(emulator) as client, pytest.raises(DeviceUnreachable):
        list(client.search(*whole_window(client)))


def test_nobody_listening_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = ISAPITarget("127.0.0.1", port, password="x", timeout=2)
    with ISAPIClient(target) as client, pytest.raises(DeviceUnreachable):
        client.clock()


@pytest.mark.parametrize(
    ("minor", "employee", "credential", "reason"),
    [
        (75, "1001", "face", None),
        (38, "1001", "fingerprint", None),
        (1, "1001", "card", None),
        (21, "", None, "event 5/21: door unlocked"),
        (76, "1001", None, "event 5/76: face verification failed"),
        (80, "1001", None, "event 5/80: not an authentication"),
        (75, "", "face", "event 5/75: no employee number"),
    ],
)
def test_only_passed_authentications_with_an_employee_are_punches(
    minor, employee, credential, reason
):
    event = parse_event(
        {
            "major": 5,
            "minor": minor,
            "time": "2026-11-26T09:00:00+08:00",
            "serialNo": 9,
            "employeeNoString": employee,
        }
    )
    assert event.credential == credential
    assert event.ignore_reason() == reason


def test_an_event_time_without_offset_stays_naive_and_garbage_is_refused():
    event = parse_event({"major": 5, "minor": 75, "time": "2026-11-26T09:00:00", "serialNo": 1})
    assert event.time == datetime(2026, 11, 26, 9, 0) and event.time.tzinfo is None
    with pytest.raises(ValueError, match="unreadable time"):
        parse_event({"major": 5, "minor": 75, "time": "yesterday", "serialNo": 2})
