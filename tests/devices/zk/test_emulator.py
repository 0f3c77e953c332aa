"""The emulator against unmodified pyzk, and our driver against both, over real loopback sockets."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from zk import ZK
from zk.exception import ZKErrorResponse

from devices.types import BadRecord, DevicePunch
from devices.zk.driver import ZKSession, ZKTarget
from devices.zk.errors import DeviceAuthError, DeviceError, DeviceUnreachable
from tests.helpers import wait_for

LAYOUTS = [8, 16, 40]
TRANSPORTS = ["tcp", "udp"]
KEYS = [0, 271828]


def pyzk(port, *, udp, key=0, encoding="UTF-8"):
    return ZK(
        "127.0.0.1",
        port=port,
        timeout=3,
        password=key,
        force_udp=udp,
        ommit_ping=True,
        encoding=encoding,
    )


@pytest.mark.parametrize("size", LAYOUTS)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("key", KEYS)
def test_pyzk_and_our_driver_read_the_same_log(make_terminal, size, transport, key):
    # 2000 records: above the inline size, so the chunked PREPARE/READ/FREE path is used.
    terminal, port = make_terminal(records=2000, record_size=size, comm_key=key)
    client = pyzk(port, udp=transport == "udp", key=key)
    conn = client.connect()
    try:
        theirs = [(a.user_id, a.timestamp, a.punch, a.status) for a in conn.get_attendance()]
        users = conn.get_users()
    finally:
        conn.disconnect()
    with ZKSession(ZKTarget("127.0.0.1", port, transport, key, 3)) as session:
        read = session.read_log(None)
        assert session.transport == transport
    ours = [
        (i.user_id, i.timestamp, i.state, i.verify)
        for i in read.items
        if isinstance(i, DevicePunch)
    ]
    assert len(ours) == 2000 == read.total == read.cursor.count
    assert ours == theirs
    assert len(users) == len(terminal.users)
    assert {u.user_id for u in users} == {u.user_id for u in terminal.users}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_small_log_comes_inline_and_incremental_reads_only_new_records(make_terminal, transport):
    terminal, port = make_terminal(records=5, record_size=16)
    with ZKSession(ZKTarget("127.0.0.1", port, transport, 0, 3)) as session:
        first = session.read_log(None)
        assert (len(first.items), first.reason) == (5, "first read")
        again = session.read_log(first.cursor)
        assert (again.items, again.reason, again.reread) == ([], "incremental", False)
        terminal.punch("1003", state=1, verify=15)
        new = session.read_log(again.cursor)
    assert [(i.user_id, i.state, i.verify) for i in new.items if isinstance(i, DevicePunch)] == [
        ("1003", 1, 15)
    ]
    assert len(new.items) == 1
    assert new.cursor.count == 6


def test_wrong_comm_key_is_an_auth_error(make_terminal):
    _, port = make_terminal(records=3, comm_key=1234)
    with pytest.raises(DeviceAuthError, match="wrong comm key"):
        ZKSession(ZKTarget("127.0.0.1", port, "tcp", 4321, 3)).connect()
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        pyzk(port, udp=True, key=0).connect()


def test_tcp_refused_falls_back_to_udp(make_terminal):
    _, port = make_terminal(records=50, udp_only=True)
    with pytest.raises(DeviceUnreachable):
        ZKSession(ZKTarget("127.0.0.1", port, "tcp", 0, 2)).connect()
    with ZKSession(ZKTarget("127.0.0.1", port, "auto", 0, 2)) as session:
        assert session.transport == "udp"
        assert len(session.read_log(None).items) == 50


def test_device_info_sizes_and_clock(make_terminal):
    terminal, port = make_terminal(records=120, users=33, record_size=40, serial="SN-XYZ")
    terminal.skew(-90)
    with ZKSession(ZKTarget("127.0.0.1", port, "tcp", 0, 3)) as session:
        info = session.info()
        session.set_clock(datetime(2026, 1, 2, 3, 4, 5))
        clock = session.clock()
    assert (info.serial, info.users, info.records) == ("SN-XYZ", 33, 120)
    assert info.record_capacity == terminal.spec.record_capacity
    assert info.firmware == terminal.spec.firmware and info.platform == terminal.spec.platform
    true_now = datetime.now(UTC).replace(tzinfo=None)  # the terminal's zone is UTC
    assert info.clock is not None
    assert abs(info.clock - (true_now - timedelta(minutes=90))) < timedelta(seconds=5)
    assert abs(clock - datetime(2026, 1, 2, 3, 4, 5)) < timedelta(seconds=5)


def test_concurrent_clients_on_one_terminal(make_terminal):
    _, port = make_terminal(records=3000, record_size=40)
    counts: list[int] = []
    errors: list[Exception] = []

    def read(transport):
        try:
            with ZKSession(ZKTarget("127.0.0.1", port, transport, 0, 5)) as session:
                counts.append(len(session.read_log(None).items))
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(t,)) for t in ["tcp", "udp", "tcp", "udp"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and counts == [3000] * 4


@pytest.mark.parametrize("size", [28, 72])
def test_gbk_names(make_terminal, size):
    record_size = 40 if size == 72 else 16
    terminal, port = make_terminal(
        records=10, chinese=True, encoding="gbk", record_size=record_size
    )
    with ZKSession(ZKTarget("127.0.0.1", port, "tcp", 0, 3, "gbk")) as session:
        users = session.users()
    assert [u.name for u in users] == [u.name for u in terminal.users]
    assert users[0].name == "张伟"
    theirs = pyzk(port, udp=False, encoding="gbk").connect()
    try:
        assert theirs.get_users()[1].name == "王芳"
    finally:
        theirs.disconnect()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_corrupted_reply_fails_the_session_and_the_next_one_works(make_terminal, transport):
    terminal, port = make_terminal(records=500, record_size=40)
    terminal.faults.corrupt_reply = 3
    target = ZKTarget("127.0.0.1", port, transport, 0, 1)
    with pytest.raises(DeviceError), ZKSession(target) as session:
        session.read_log(None)
    with ZKSession(target) as session:
        assert len(session.read_log(None).items) == 500


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_drop_mid_transfer_is_an_error_not_a_hang(make_terminal, transport):
    terminal, port = make_terminal(records=20000, record_size=40)
    terminal.faults.drop_after_chunks = 2
    target = ZKTarget("127.0.0.1", port, transport, 0, 1)
    with pytest.raises(DeviceError), ZKSession(target) as session:
        session.read_log(None)
    terminal.faults.drop_after_bytes = 300_000
    with pytest.raises(DeviceError), ZKSession(target) as session:
        session.read_log(None)
    with ZKSession(target) as session:
        assert len(session.read_log(None).items) == 20000


def test_impossible_date_is_kept_as_bad_record_while_pyzk_gives_up(make_terminal):
    terminal, port = make_terminal(records=100, record_size=40)
    terminal.add_impossible_record()
    terminal.punch("1001")
    with ZKSession(ZKTarget("127.0.0.1", port, "tcp", 0, 3)) as session:
        items = session.read_log(None).items
    bad = [i for i in items if isinstance(i, BadRecord)]
    assert len(items) == 102 and len(bad) == 1 and bad[0].position == 100
    assert "impossible date" in bad[0].reason and len(bad[0].raw) == 40
    conn = pyzk(port, udp=False).connect()
    try:
        with pytest.raises(ValueError):
            conn.get_attendance()
    finally:
        conn.disconnect()


def test_clear_attendance_and_memory_full(make_terminal):
    terminal, port = make_terminal(records=30, record_size=16)
    terminal.faults.memory_full = True
    assert terminal.punch("1001") is False
    with ZKSession(ZKTarget("127.0.0.1", port, "udp", 0, 3)) as session:
        info = session.sizes()
        assert info.records == info.record_capacity == 30
        assert session.clear_log_if_count(29) is False
        assert session.clear_log_if_count(30) is True
        assert session.sizes().records == 0
    assert terminal.record_count == 0 and terminal.enabled


@pytest.mark.parametrize("size", LAYOUTS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_live_events_reach_pyzk_and_our_driver(make_terminal, size, transport):
    terminal, port = make_terminal(records=20, record_size=size)
    stop = threading.Event()
    got: list[DevicePunch] = []

    def punch_soon():
        time.sleep(0.3)
        for i in range(3):
            terminal.punch(f"10{i + 10}", state=i, verify=15)

    threading.Thread(target=punch_soon, daemon=True).start()
    deadline = time.monotonic() + 10
    with ZKSession(ZKTarget("127.0.0.1", port, transport, 0, 3)) as session:
        for item in session.live(
            wait_s=0.2, should_stop=lambda: stop.is_set() or time.monotonic() > deadline
        ):
            if isinstance(item, DevicePunch):
                got.append(item)
                if len(got) == 3:
                    stop.set()
        # the session is still usable after live mode ends
        assert session.sizes().records == 23
    assert [(g.user_id, g.state, g.verify) for g in got] == [
        ("1010", 0, 15),
        ("1011", 1, 15),
        ("1012", 2, 15),
    ]
    assert abs(got[0].timestamp - terminal.now()) < timedelta(minutes=1)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connection_log_keeps_the_last_packet_of_a_session(make_terminal, transport):
    terminal, port = make_terminal(records=5)
    conn = pyzk(port, udp=transport == "udp").connect()
    session = terminal.connections[-1]
    first = session.last
    time.sleep(0.05)
    conn.get_attendance()
    later = session.last
    conn.disconnect()
    assert first is not None and later is not None and later > first
    # The emulator's loop marks the session closed just after it answers the exit.
    assert wait_for(lambda: session.closed is not None, timeout=5)
    assert session.closed is not None and session.closed >= later
