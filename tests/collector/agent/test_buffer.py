"""The agent's buffer: cursor and punches together, bounded, oldest first, batches as formed."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from collector.agent.site.buffer import Buffer, BufferFull
from collector.agent.site.hikreading import bad_items, hik_items
from collector.agent.site.reading import TerminalReader, zk_items
from collector.agent.wire import TerminalConfig
from collector.normalize import raw_from_json
from collector.poller.hikdevices import HikDevice
from collector.poller.hiksync import _bad_items, hik_batch
from collector.poller.sync import to_batch
from collector.poller.terminals import Terminal
from collector.store.ingest import QuarantineItem
from devices.hikvision.emulator import HikTerminal
from devices.hikvision.events import parse_page
from devices.types import BadRecord, DevicePunch
from devices.zk.emulator import EmulatorHost, TerminalSpec
from devices.zk.emulator import Terminal as EmulatedTerminal
from devices.zk.emulator.traffic import history, make_users
from rules.vocabulary import DirectionMode

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def items(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"punch": {"employee_code": str(i)}} for i in range(start, start + n)]


def test_a_read_and_its_cursor_commit_together_within_the_bound(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite3", max_rows=10)
    assert buffer.add("T1", items(8), {"count": 8}, NOW, count=8) == 8
    with pytest.raises(BufferFull):
        buffer.add("T1", items(3, 8), {"count": 11}, NOW, count=3)
    # Refused: nothing kept, the cursor stays where the kept punches end.
    assert (buffer.depth(), buffer.cursor("T1")) == (8, {"count": 8})
    assert buffer.add("T2", [], {"count": 0}, NOW, count=0) == 0  # a cursor alone always moves
    # An empty buffer takes a read larger than the bound, so one huge read cannot wedge it.
    empty = Buffer(tmp_path / "e.sqlite3", max_rows=10)
    assert empty.add("T1", items(25), {"count": 25}, NOW, count=25) == 25


def test_batches_are_oldest_first_and_resent_as_formed_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    buffer = Buffer(path)
    buffer.add("T1", items(5), {"count": 5}, NOW, count=5)
    buffer.add("T2", items(5, 5), {"count": 5}, NOW, count=5)
    first = buffer.next_batch(4)
    assert first is not None
    assert [i["punch"]["employee_code"] for i in first.items] == ["0", "1", "2", "3"]
    buffer.close()
    # A restart (or a failed send) gives the same batch again, more punches or not.
    reopened = Buffer(path)
    reopened.add("T1", items(2, 10), {"count": 7}, NOW, count=2)
    again = reopened.next_batch(100)
    assert again == first
    assert reopened.acknowledge(first.batch_id) == 4
    second = reopened.next_batch(100)
    assert second is not None and second.batch_id != first.batch_id
    assert [i["punch"]["employee_code"] for i in second.items] == [
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
    ]
    assert reopened.acknowledge("not-a-batch") == 0
    reopened.acknowledge(second.batch_id)
    assert (reopened.next_batch(100), reopened.depth(), reopened.oldest()) == (None, 0, None)


def test_it_warns_before_it_fills(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite3", max_rows=10, warn_ratio=0.8, min_free_bytes=0)
    buffer.add("T1", items(7), {}, NOW, count=7)
    assert buffer.warning() is None
    buffer.add("T1", items(1), {}, NOW, count=1)
    assert buffer.warning() == "buffer 80% full (8 of 10 punches)"
    roomy = Buffer(tmp_path / "r.sqlite3", min_free_bytes=2**62)
    assert (roomy.warning() or "").startswith("disk nearly full")
    assert oct((tmp_path / "b.sqlite3").stat().st_mode & 0o777) == "0o600"


def test_the_agent_builds_the_punches_the_central_poller_builds() -> None:
    records: list[DevicePunch | BadRecord] = [
        DevicePunch("1001", datetime(2026, 3, 29, 2, 30), state=1, verify=15),
        DevicePunch("1002", datetime(2026, 11, 20, 8, 0), state=None, verify=None),
        BadRecord("impossible date", b"\x0c\x00", position=7),
    ]
    config = TerminalConfig(
        code="T1", kind="zk", host="h", port=1, timezone="Europe/Berlin", direction_mode="in"
    )
    poller = Terminal(
        code="T1", host="h", port=1, timezone="Europe/Berlin", direction_mode=DirectionMode.IN
    )
    expected = to_batch(records, poller, 1)
    got = list(zk_items(records, config, 1))
    assert [raw_from_json(g["punch"]) for g in got[:2]] == expected[:2]
    bad = expected[2]
    assert isinstance(bad, QuarantineItem)
    assert got[2]["bad"] == {
        "reason": bad.reason,
        "raw": bad.raw,
        "device_code": bad.device_code,
        "reference": bad.reference,
    }


def test_the_agent_builds_the_hikvision_punches_the_central_poller_builds() -> None:
    terminal = HikTerminal(timezone="Asia/Shanghai")
    terminal.fill(30, seed=5)
    page = parse_page(
        {
            "AcsEvent": {
                "searchID": "x",
                "responseStatusStrg": "OK",
                "numOfMatches": len(terminal.events) + 1,
                "totalMatches": len(terminal.events) + 1,
                "InfoList": [*terminal.events, {"major": 5, "minor": 75, "time": "garbage"}],
            }
        }
    )
    config = TerminalConfig(code="H1", kind="hik", host="h", port=1, timezone="Asia/Shanghai")
    device = HikDevice(code="H1", host="h", timezone="Asia/Shanghai")
    ignored: Counter[str] = Counter()
    expected = hik_batch(page.events, device, 0, ignored)
    got = hik_items(page.events, config, 0)
    assert ignored and len(got) == len(expected) == len(page.events) - sum(ignored.values())
    assert [raw_from_json(g["punch"]) for g in got] == expected
    assert [b["bad"]["reason"] for b in bad_items(page, config)] == [
        q.reason for q in _bad_items(page, device)
    ]


def test_a_buffer_that_cannot_write_keeps_the_cursor_and_the_reader_alive(tmp_path: Path) -> None:
    people = make_users(5)
    terminal = EmulatedTerminal(TerminalSpec(), people, history(people, 20, end=date(2026, 11, 26)))
    with EmulatorHost() as host:
        port = host.add(terminal)
        buffer = Buffer(tmp_path / "b.sqlite3", busy_timeout_s=0.1)
        config = TerminalConfig(code="T1", kind="zk", host="127.0.0.1", port=port)
        reader = TerminalReader(config, buffer, 60.0, timeout_s=5, retry_base_s=0.01)
        # Another writer holds the file, as a full disk would make every write fail.
        blocker = sqlite3.connect(buffer.path, timeout=0, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        assert reader.poll() == 0
        assert reader.health is not None and "buffer: database is locked" in (
            reader.health.last_error or ""
        )
        assert buffer.cursor("T1") is None  # nothing kept, the cursor did not move
        blocker.execute("ROLLBACK")
        assert reader.poll() == 20
        assert buffer.cursor("T1") is not None and reader.failures == 0
