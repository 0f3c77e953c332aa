"""The poller against emulated terminals: nothing lost, nothing doubled, status kept current."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from collector.metrics import POLL_DURATION, POLL_FAILURES
from collector.poller.device import TerminalPoller
from collector.poller.terminals import load_terminals
from collector.poller.worker import TerminalPollerWorker
from collector.store.models import Punch
from devices.zk.driver import ZKSession
from rules.vocabulary import PunchFlag
from tests.collector.poller.conftest import (
    device_row,
    distinct_punches,
    punch_count,
    quarantine_rows,
)


def poller_for(store, code):
    (terminal,) = load_terminals(store.engine, [code], box=store.box)
    return TerminalPoller(store, terminal)


def test_hundred_thousand_records_exactly_once_then_nothing_new(zk_store, add_terminal):
    terminal = add_terminal("big", records=100_000, users=400, record_size=40)
    poller = poller_for(zk_store, "big")
    first = poller.poll()
    assert first is not None
    expected = distinct_punches(terminal)
    assert (first.read, first.total, first.reason) == (100_000, 100_000, "first read")
    assert first.inserted == expected and first.inserted + first.duplicates == 100_000
    assert punch_count(zk_store, "big") == expected
    again = poller.poll()
    assert (again.read, again.inserted, again.reason) == (0, 0, "incremental")
    row = device_row(zk_store, "big")
    assert row.status == "online" and row.record_count == 100_000
    assert row.sync_state["count"] == 100_000 and row.serial == "SN-big"
    assert row.firmware and row.platform and row.record_capacity and row.user_count == 400
    assert row.last_sync_at is not None and row.reported_until is not None


def test_connection_dropped_mid_transfer_then_next_poll_completes(zk_store, add_terminal):
    terminal = add_terminal("drop", records=20_000, record_size=40)
    poller = poller_for(zk_store, "drop")
    terminal.faults.drop_after_chunks = 3
    assert poller.poll() is None
    row = device_row(zk_store, "drop")
    assert row.status == "offline" and row.last_error
    assert punch_count(zk_store, "drop") == 0 and row.sync_state == {}
    outcome = poller.poll()
    assert outcome is not None and outcome.read == 20_000
    assert punch_count(zk_store, "drop") == distinct_punches(terminal)
    assert device_row(zk_store, "drop").status == "online"


def test_a_sync_failing_while_it_reads_stops_the_reader_and_stores_nothing(
    zk_store, add_terminal, monkeypatch
):
    import collector.poller.sync as sync

    terminal = add_terminal("halt", records=60_000, record_size=40)
    poller = poller_for(zk_store, "halt")
    chunks = []

    def failing(items, *args):  # the ingest's normalising fails on the third chunk
        chunks.append(len(items))
        if len(chunks) == 3:
            raise RuntimeError("normalising failed")
        return real(items, *args)

    real = sync.to_batch
    monkeypatch.setattr(sync, "to_batch", failing)
    (config,) = load_terminals(zk_store.engine, ["halt"], box=zk_store.box)
    with (
        pytest.raises(RuntimeError, match="normalising failed"),
        ZKSession(config.target(zk_store.settings)) as session,
    ):
        sync.sync_terminal(zk_store, config, session)
    assert sum(chunks) < 60_000  # it stopped before the log was read to its end
    assert not [t for t in threading.enumerate() if t.name == "zk-log-reader"]
    assert punch_count(zk_store, "halt") == 0 and device_row(zk_store, "halt").sync_state == {}
    monkeypatch.setattr(sync, "to_batch", real)
    outcome = poller.poll()
    assert outcome is not None and outcome.read == 60_000
    assert punch_count(zk_store, "halt") == distinct_punches(terminal)


def test_wrong_comm_key_marks_only_that_terminal(zk_store, add_terminal):
    add_terminal("good-1", comm_key=111)
    add_terminal("bad", comm_key=222, device_key=333)
    add_terminal("good-2", transport="udp")
    worker = TerminalPollerWorker(zk_store)
    try:
        worker.poll_all()
    finally:
        worker.stop()
    bad = device_row(zk_store, "bad")
    assert (bad.status, bad.last_error) == ("unauthorized", "wrong comm key")
    # /metrics sees each poll: durations of the good ones, the failure of the bad one.
    assert POLL_FAILURES.value(device="bad") >= 1
    assert POLL_DURATION.count(device="good-1") >= 1
    for code in ("good-1", "good-2"):
        assert device_row(zk_store, code).status == "online"
        assert punch_count(zk_store, code) > 0
    assert punch_count(zk_store, "bad") == 0


def test_skewed_clock_is_measured_and_flagged(zk_store, add_terminal):
    terminal = add_terminal("skewed", records=50)
    terminal.skew(30)
    outcome = poller_for(zk_store, "skewed").poll()
    assert outcome.clock_flagged and abs(outcome.clock_skew_s - 1800) < 10
    skew = device_row(zk_store, "skewed").clock_skew_s
    assert skew is not None and abs(skew - 1800) < 10
    with zk_store.sessions() as s:
        flags = set(s.scalars(select(Punch.flags).where(Punch.device_code == "skewed")))
    assert flags and all(f & PunchFlag.CLOCK_SKEW for f in flags)


def test_set_clock_switch_corrects_the_terminal(zk_store, add_terminal):
    terminal = add_terminal("fixme", records=5, options={"set_clock": True})
    terminal.skew(-45)
    outcome = poller_for(zk_store, "fixme").poll()
    assert outcome.clock_set
    assert abs(terminal.clock_offset) < timedelta(seconds=5)


def test_reset_clock_punch_is_flagged_and_kept(zk_store, add_terminal):
    terminal = add_terminal("reset", records=10)
    terminal.reset_clock()
    terminal.punch("1001")
    outcome = poller_for(zk_store, "reset").poll()
    assert outcome.inserted == 11
    with zk_store.sessions() as s:
        punch = s.scalars(
            select(Punch).where(Punch.occurred_at < datetime(2001, 1, 1, tzinfo=UTC))
        ).one()
    assert punch.flags & PunchFlag.CLOCK_RESET and punch.flags & PunchFlag.CLOCK_SKEW


def test_impossible_date_is_quarantined_and_the_rest_stored(zk_store, add_terminal):
    terminal = add_terminal("garbage", records=100)
    terminal.add_impossible_record()
    terminal.punch("1001")
    outcome = poller_for(zk_store, "garbage").poll()
    assert (outcome.read, outcome.quarantined) == (102, 1)
    assert punch_count(zk_store, "garbage") == distinct_punches(terminal)
    (q,) = quarantine_rows(zk_store)
    assert "impossible date" in q.reason and q.device_code == "garbage" and len(q.raw) == 80


def test_log_cleared_and_rolled_over_between_polls(zk_store, add_terminal):
    terminal = add_terminal("cleared", records=300, record_size=16)
    poller = poller_for(zk_store, "cleared")
    poller.poll()
    before = punch_count(zk_store, "cleared")
    terminal.clear_log()
    terminal.punch("1001", when=datetime(2026, 11, 27, 8, 0, 1))
    terminal.punch("1002", when=datetime(2026, 11, 27, 8, 0, 2))
    outcome = poller.poll()
    assert outcome.reason == "log cleared or rolled over" and outcome.inserted == 2
    assert punch_count(zk_store, "cleared") == before + 2
    # a full circular log: the oldest records drop out as new ones arrive, count unchanged
    terminal.roll_over(2)
    terminal.punch("1003", when=datetime(2026, 11, 27, 8, 0, 3))
    terminal.punch("1004", when=datetime(2026, 11, 27, 8, 0, 4))
    outcome = poller.poll()
    assert outcome.reason == "log rolled over" and outcome.inserted == 2
    assert punch_count(zk_store, "cleared") == before + 4


def test_clear_after_sync_erases_only_what_is_stored(zk_store, add_terminal):
    terminal = add_terminal("wipe", records=40, options={"clear_after_sync": True})
    poller = poller_for(zk_store, "wipe")
    expected = distinct_punches(terminal)
    outcome = poller.poll()
    assert outcome.cleared and terminal.record_count == 0
    assert punch_count(zk_store, "wipe") == expected
    assert device_row(zk_store, "wipe").sync_state["count"] == 0
    terminal.punch("1001", when=datetime(2026, 11, 27, 9, 0, 0))
    outcome = poller.poll()
    assert outcome.inserted == 1 and outcome.reason == "incremental"


def test_fifty_terminals_polled_concurrently(zk_store, add_terminal):
    terminals = {
        f"t{i:02d}": add_terminal(
            f"t{i:02d}",
            records=100,
            seed=i,
            first_code=10_000 * (i + 1),  # people of their own: no cross-terminal dedupe
            record_size=(8, 16, 40)[i % 3],
            transport=("tcp", "udp")[i % 2],
            comm_key=(0, 77)[i % 2] or None,
        )
        for i in range(50)
    }
    worker = TerminalPollerWorker(zk_store)
    try:
        outcomes = worker.poll_all()
    finally:
        worker.stop()
    assert len(outcomes) == 50 and all(o is not None for o in outcomes)
    for code, terminal in terminals.items():
        assert punch_count(zk_store, code) == distinct_punches(terminal), code
        assert device_row(zk_store, code).status == "online"


def test_down_and_recovery_logged_once_each(zk_store, add_terminal, caplog):
    terminal = add_terminal("flaky", records=5, comm_key=5)
    poller = poller_for(zk_store, "flaky")
    terminal.faults.wrong_comm_key = True
    with caplog.at_level(logging.INFO, logger="collector.poller.device"):
        assert poller.poll() is None
        assert poller.poll() is None
        assert poller.failures == 2 and poller.available is False
        first, second = poller.backoff(), poller.backoff()
        assert 0 < first <= zk_store.settings.zk_retry_max_s and second > 0
        terminal.faults.wrong_comm_key = False
        assert poller.poll() is not None
        assert poller.poll() is not None
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["terminal flaky is down: wrong comm key", "terminal flaky is back"]
    assert device_row(zk_store, "flaky").status == "online"


def test_live_punches_reach_the_store_within_two_seconds(zk_store, add_terminal):
    terminal = add_terminal("live", records=20, options={"live": True}, record_size=40)
    add_terminal("polled", records=10, first_code=5001, options={"interval_s": 0.5})
    worker = TerminalPollerWorker(zk_store)
    worker.start()
    try:
        _wait_for(lambda: punch_count(zk_store, "live") == 20, 10)
        punched_at = time.monotonic()
        terminal.punch("1007", state=1, verify=15)
        _wait_for(lambda: punch_count(zk_store, "live") == 21, 2, since=punched_at)
        _wait_for(lambda: punch_count(zk_store, "polled") == 10, 10)
    finally:
        worker.stop()


def _wait_for(condition, seconds, since=None):
    deadline = (since or time.monotonic()) + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    assert condition(), f"not within {seconds} s"


def test_fault_switches_clear_and_roll_over_the_log_between_polls(zk_store, add_terminal):
    terminal = add_terminal("switch", records=60, record_size=8)
    terminal.faults.clear_after_reads = 1
    poller = poller_for(zk_store, "switch")
    first = poller.poll()
    assert first.read == 60 and terminal.record_count == 0
    terminal.punch("1001", when=datetime(2026, 11, 27, 7, 0, 0))
    second = poller.poll()
    assert (second.reason, second.inserted) == ("log cleared or rolled over", 1)
    terminal.faults.roll_over_after_reads = 1
    terminal.faults.roll_over_records = 1
    for minute in range(1, 4):
        terminal.punch("1002", when=datetime(2026, 11, 27, 7, minute, 0))
    third = poller.poll()  # reads 3 new; the terminal then drops its oldest record
    assert third.inserted == 3 and terminal.record_count == 3
    terminal.punch("1003", when=datetime(2026, 11, 27, 7, 9, 0))
    fourth = poller.poll()
    assert (fourth.reason, fourth.inserted, fourth.duplicates) == ("log rolled over", 1, 3)


def test_latency_beyond_the_timeout_is_a_timeout(zk_store, add_terminal):
    terminal = add_terminal("slow", records=5)
    terminal.faults.latency_s = 2.5
    poller = poller_for(zk_store, "slow")
    assert poller.poll() is None
    assert "timed out" in (device_row(zk_store, "slow").last_error or "")
    terminal.faults.latency_s = 0.01
    assert poller.poll() is not None


def test_device_zone_and_direction_mode_are_applied(zk_store, add_terminal):
    berlin = add_terminal("berlin", records=0, timezone="Europe/Berlin")
    exit_only = add_terminal("exit", records=0, direction_mode="out", first_code=7001)
    berlin.punch("1001", state=0, verify=15, when=datetime(2026, 1, 15, 9, 0, 0))
    berlin.punch("1002", state=255, verify=1, when=datetime(2026, 7, 15, 9, 0, 0))
    exit_only.punch("7001", state=0, verify=1, when=datetime(2026, 1, 15, 9, 0, 0))
    worker = TerminalPollerWorker(zk_store)
    try:
        worker.poll_all()
    finally:
        worker.stop()
    with zk_store.sessions() as s:
        rows = {
            p.employee_code: p
            for p in s.scalars(select(Punch).where(Punch.device_code.in_(["berlin", "exit"])))
        }
    assert rows["1001"].occurred_at == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)  # CET
    assert rows["1002"].occurred_at == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)  # CEST
    assert rows["1001"].tz == "Europe/Berlin"
    assert (rows["1001"].state, rows["1001"].verify) == ("in", "face")
    assert (rows["1002"].state, rows["1002"].verify) == ("unknown", "fingerprint")
    assert rows["7001"].state == "out"
