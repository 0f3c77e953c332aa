"""The Dahua CGI client against the emulated controller over real HTTP on 127.0.0.1."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devices.dahua.client import DahuaClient, DahuaTarget
from devices.dahua.emulator import DahuaController, DahuaEmulator
from devices.dahua.records import WireError, parse_page, parse_table
from devices.dahua.stream import StreamParser, event_part
from devices.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceUnreachable,
)

FAR = 2**31 - 1


@pytest.fixture
def controller() -> DahuaController:
    return DahuaController(timezone="Asia/Shanghai")


@pytest.fixture
def emulator(controller: DahuaController) -> Iterator[DahuaEmulator]:
    with DahuaEmulator(controller) as emu:
        yield emu


def client_for(emulator: DahuaEmulator, password: str = "dahua12345", **kw) -> DahuaClient:
    target = DahuaTarget("127.0.0.1", emulator.port, password=password, timeout=5, **kw)
    return DahuaClient(target)


def test_pages_read_every_record_once_by_rec_no_each_asked_from_the_newest_time(
    controller, emulator
):
    controller.fill(300, seed=7)
    with client_for(emulator, page_size=100) as client:
        pages = list(client.pages(1, FAR))
    seen: dict[int, int] = {}
    for page in pages:
        for record in page.records:
            seen[record.rec_no] = record.create_time
    assert sorted(seen) == [r["RecNo"] for r in controller.records]
    assert all(len(p.records) == 100 for p in pages[:-1]) and len(pages[-1].records) < 100
    starts = [int(q["StartTime"]) for q in controller.queries]
    assert starts[0] == 1 and starts == sorted(starts)
    # each page starts at the newest CreateTime of the page before (StartTime is inclusive)
    for before, start in zip(pages, starts[1:], strict=False):
        assert start == max(r.create_time for r in before.records)


def test_a_second_holding_more_than_a_page_is_a_protocol_error_not_a_loop(controller, emulator):
    when = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    for i in range(12):
        controller.add_record(when, user=str(i))
    with client_for(emulator, page_size=10) as client, pytest.raises(DeviceProtocolError):
        list(client.pages(1, FAR))


def test_records_fields_methods_states_and_failures(controller, emulator):
    when = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    controller.add_record(when, user="7", method=15, state=1)
    controller.add_record(when + timedelta(minutes=1), user="7", method=6, state=4)
    controller.add_record(when + timedelta(minutes=2), method=5, door_type="Exit")
    controller.add_record(when + timedelta(minutes=3), user="8", method=15, status=0)
    controller.add_record(when + timedelta(minutes=4), user="9", method=1, state=0)
    with client_for(emulator) as client:
        (page,) = list(client.pages(1, FAR))
    face, finger, button, failed, card = page.records
    assert (face.user_id, face.credential, face.state_word(), face.instant) == (
        "7",
        "face",
        "checkIn",
        when,
    )
    assert (finger.credential, finger.state_word()) == ("fingerprint", "checkOut")
    assert button.ignore_reason() == "method 5: exit button"
    assert failed.ignore_reason() == "verification failed (Status=0)"
    assert card.credential == "card" and card.state_word() == "undefined"
    assert card.state_word(door_direction=True) == "checkIn"  # an Entry reader
    assert [r.ignore_reason() for r in (face, finger, card)] == [None, None, None]


def test_device_info_and_the_wall_clock(controller, emulator):
    controller.skew_s = 600
    with client_for(emulator) as client:
        info = client.device_info()
        clock = client.clock()
    assert info.serial == controller.serial_number and info.platform == controller.device_type
    assert info.firmware == controller.firmware_version
    shanghai = datetime.now(UTC).astimezone(controller.zone).replace(tzinfo=None)
    assert clock.tzinfo is None
    assert abs((clock - shanghai).total_seconds() - 600) < 30


@pytest.mark.parametrize("firmware", ["utc", "local", "local+realutc"])
def test_create_time_variants_give_the_same_instant(firmware):
    controller = DahuaController(timezone="Europe/Berlin", firmware=firmware)
    when = datetime(2026, 11, 26, 8, 30)  # Berlin wall clock: 07:30 UTC
    controller.add_record(when, user="1", method=15, state=1)
    with DahuaEmulator(controller) as emu:
        local = firmware == "local"
        with client_for(emu, local_times=local) as client:
            (record,) = client.find(1, FAR).records
    if firmware == "local":
        assert record.instant is None and record.wall == when  # the device's zone applies
    else:
        assert record.instant == datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


def test_refused_password_is_an_auth_error(controller, emulator):
    with client_for(emulator, password="wrong") as client, pytest.raises(DeviceAuthError):
        client.device_info()
    controller.faults.wrong_password = True
    with client_for(emulator) as client, pytest.raises(DeviceAuthError):
        client.clock()


def test_unknown_call_is_refused_and_garbled_or_dropped_replies_are_mapped(controller, emulator):
    controller.fill(20, seed=1)
    with client_for(emulator) as client:
        with pytest.raises(DeviceRefused, match="400"):
            client._request("/cgi-bin/nothing.cgi", {"action": "x"})
        controller.faults.garble_find = 1
        with pytest.raises(DeviceProtocolError, match="unreadable"):
            client.find(1, FAR)
        controller.faults.drop_after_pages = 1
        with pytest.raises(DeviceUnreachable):
            client.find(1, FAR)


def test_unreachable_port_is_unreachable():
    target = DahuaTarget("127.0.0.1", 9, timeout=1)
    with DahuaClient(target) as client, pytest.raises(DeviceUnreachable):
        client.clock()


def test_attach_stream_gives_heartbeats_and_access_control_events(controller, emulator):
    rng = random.Random(3)
    with client_for(emulator) as client, client.attach(heartbeat=1) as events:
        timer = threading.Timer(1.5, controller.punch_now, args=(rng,))
        timer.start()
        got = []
        for item in events():
            got.append(item)
            if item is not None:
                break
        timer.join()
    assert got[0] is None  # a heartbeat came first (the punch waits 1.5 s)
    assert controller.attach_paths == [
        "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl]&heartbeat=1"
    ]
    event = got[-1]
    assert event is not None and event.code == "AccessControl" and event.action == "Pulse"
    assert event.data["UserID"] == controller.records[-1]["UserID"]


def test_a_stream_dropped_by_the_controller_ends_in_unreachable(controller, emulator):
    controller.faults.drop_stream_after = 1
    with client_for(emulator) as client, client.attach(heartbeat=1) as events:
        threading.Timer(0.3, controller.punch_now, args=(random.Random(1),)).start()
        threading.Timer(0.6, controller.punch_now, args=(random.Random(2),)).start()
        with pytest.raises(DeviceUnreachable):
            for _ in events():
                pass


def test_a_garbled_stream_part_is_a_protocol_error(controller, emulator):
    controller.faults.garble_stream_after = 0
    with client_for(emulator) as client, client.attach(heartbeat=1) as events:
        threading.Timer(0.3, controller.punch_now, args=(random.Random(1),)).start()
        with pytest.raises(DeviceProtocolError, match="garbled event stream"):
            for _ in events():
                pass


def test_stream_parser_takes_parts_split_anywhere():
    body = 'Code=AccessControl;action=Pulse;index=0;data={\n "UserID" : "5",\n "Method" : 15\n}'
    wire = event_part("Heartbeat") + event_part(body) + event_part("Heartbeat")
    parser = StreamParser("multipart/x-mixed-replace; boundary=myboundary")
    out = []
    for i in range(0, len(wire), 7):
        out += list(parser.feed(wire[i : i + 7]))
    assert out[0] is None and out[2] is None
    assert out[1] is not None and out[1].data == {"UserID": "5", "Method": 15}
    with pytest.raises(ValueError):
        list(StreamParser("multipart/x-mixed-replace").feed(event_part("Code=X;data=[1")))


def test_parse_page_keeps_unreadable_records_apart():
    text = (
        "found=3\r\nrecords[0].RecNo=1\r\nrecords[0].CreateTime=1796000000\r\n"
        "records[0].UserID=4\r\nrecords[1].RecNo=2\r\nrecords[1].CreateTime=soon\r\n"
        "records[2].CreateTime=1796000100\r\n"
    )
    page = parse_page(text)
    assert [r.rec_no for r in page.records] == [1] and page.found == 3
    assert [reason for reason, _ in page.bad] == [
        "RecNo or CreateTime is not a number",
        "missing RecNo",
    ]
    with pytest.raises(WireError):
        parse_page("records[0].RecNo=1\r\n")
    with pytest.raises(WireError):
        parse_table("<html>not a table</html>")
