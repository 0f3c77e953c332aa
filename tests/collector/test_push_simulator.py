"""The push simulator against a real uvicorn server: exactly-once, backlog, outages, commands."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from collector.push.commands import queue_command
from collector.runtime import utcnow
from collector.store.db import make_sessionmaker
from collector.store.models import Punch, PushCommand, PushRosterEntry
from devices.zk.push.simulator import Faults, PushTerminalSimulator, SimulatorGaveUp
from tests.factories import add_employee
from tests.push_support import add_push_device, counts, device, live_server

SN = "SIM0001"
TZ = "Europe/Berlin"
PINS = [str(1001 + i) for i in range(20)]
START = datetime(2026, 3, 2, 6, 0)


def stored(store) -> set[tuple[str, datetime]]:
    with store.sessions() as s:
        return {(c, t) for c, t in s.execute(select(Punch.employee_code, Punch.occurred_at))}


def expected(sim: PushTerminalSimulator) -> set[tuple[str, datetime]]:
    zone = ZoneInfo(TZ)
    return {(r.pin, r.when.replace(tzinfo=zone).astimezone(UTC)) for r in sim.ledger.generated}


def test_lost_replies_resend_the_same_batch_and_nothing_doubles(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(
            url, SN, timezone=TZ, batch_size=250, faults=Faults(lose_reply_every=2)
        )
        sim.handshake()
        sim.add_backlog(1500, start=START, pins=PINS)
        assert sim.upload() == 1500
        sim.close()
    # Every second OK is lost: each batch after the first is sent twice.
    assert (sim.ledger.batches, sim.ledger.lost_replies, sim.ledger.requests) == (6, 5, 1 + 11)
    assert stored(store) == expected(sim)
    assert counts(store) == (1500, 0)
    assert device(store).sync_state["ATTLOGStamp"] == "1500"


def test_timeouts_resend_until_ok_and_nothing_doubles(store, db_url):
    """The server is held up longer than the terminal waits; the batch is sent again."""
    add_push_device(store, timezone=TZ)
    release = threading.Event()

    def hold_writes():
        if make_url(db_url).get_backend_name() == "sqlite":
            database = make_url(db_url).database
            assert database is not None
            conn = sqlite3.connect(database, timeout=30)
            conn.execute("BEGIN IMMEDIATE")
            release.wait(10)
            conn.rollback()
            conn.close()
        else:
            with store.engine.begin() as conn:
                conn.execute(text("LOCK TABLE punches IN EXCLUSIVE MODE"))
                release.wait(10)

    holder = threading.Thread(target=hold_writes)
    holder.start()
    time.sleep(0.2)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=500, timeout=0.3)
        sim.add_backlog(1000, start=START, pins=PINS)
        threading.Timer(1.0, release.set).start()
        assert sim.upload() == 1000
        sim.close()
    holder.join()
    assert sim.ledger.timeouts >= 1
    assert stored(store) == expected(sim)
    assert counts(store) == (1000, 0)


def test_offline_backlog_of_20000_records(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=500)
        sim.handshake()
        sim.add_backlog(20_000, start=START, pins=PINS, step=timedelta(seconds=13))
        assert sim.upload() == 20_000
        sim.close()
    assert sim.ledger.batches == 40
    assert sim.ledger.acked_through == 20_000
    assert counts(store) == (20_000, 0)
    assert stored(store) == expected(sim)
    last = sim.ledger.generated[-1].when.replace(tzinfo=ZoneInfo(TZ))
    assert device(store).reported_until == last.astimezone(UTC)


def test_store_unavailable_error_reply_then_retry_succeeds(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=100, retry_delay=0.05)
        sim.handshake()
        sim.add_backlog(300, start=START, pins=PINS)
        engine, sessions = store.engine, store.sessions
        dead = create_engine("sqlite:////nonexistent-dir/punchgate/dead.sqlite3")
        store.engine, store.sessions = dead, make_sessionmaker(dead)
        uploader = threading.Thread(target=sim.upload)
        uploader.start()
        for _ in range(200):
            if sim.ledger.error_replies >= 2:
                break
            time.sleep(0.02)
        assert counts_while_down(engine) == 0
        store.engine, store.sessions = engine, sessions  # the database is back
        uploader.join(timeout=30)
        dead.dispose()
        sim.close()
    assert sim.ledger.error_replies >= 2
    assert sim.ledger.acked_through == 300
    assert stored(store) == expected(sim)


def counts_while_down(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM punches")).scalar_one())


def test_resume_from_the_stamp_the_server_kept(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        first = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=100)
        first.add_backlog(250, start=START, pins=PINS)
        first.upload()
        first.close()
        # The terminal restarts with its log intact but its memory of acks lost.
        again = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=100)
        again.ledger.generated, again.log = list(first.ledger.generated), list(first.log)
        again.handshake()
        assert again.ledger.acked_through == 250
        assert again.pending == []
        again.punch("1001", START + timedelta(days=1))
        assert again.upload() == 1
        again.close()
    assert counts(store) == (251, 0)


def test_command_round_trip_with_the_simulator(store, now):
    add_push_device(store, timezone=TZ)
    with store.sessions.begin() as s:
        add_employee(s, "1001", now, name="Anna Weber")
        add_employee(s, "1002", now, name="Ben Li")
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ)
        sim.handshake()
        sim.clock_offset = timedelta(minutes=-17)  # a terminal running slow
        with store.sessions.begin() as s:
            for kind in ("sync_roster", "set_clock", "info", "reboot"):
                queue_command(s, device_code="face-1", kind=kind, requested_by="hr", now=utcnow())
        done = sim.poll()
        sim.upload_users()
        assert sim.poll() == []
        sim.close()
    assert [c.command.split(" ")[0] for c in done] == ["DATA", "DATA", "SET", "INFO", "REBOOT"]
    assert all(c.return_code == 0 for c in done)
    assert sim.users == {"1001": "Anna Weber", "1002": "Ben Li"}
    assert abs(sim.local_now() - datetime.now(ZoneInfo(TZ)).replace(tzinfo=None)) < timedelta(
        seconds=5
    )
    assert sim.ledger.reboots == 1
    with store.sessions() as s:
        rows = s.execute(select(PushCommand.kind, PushCommand.status, PushCommand.result)).all()
        roster = s.scalars(select(PushRosterEntry.pin).order_by(PushRosterEntry.pin)).all()
    assert {(k, st) for k, st, _ in rows} == {
        ("sync_roster", "done"),
        ("set_clock", "done"),
        ("info", "done"),
        ("reboot", "done"),
    }
    info = next(r for k, _, r in rows if k == "info")
    assert info["UserCount"] == "2"
    assert roster == ["1001", "1002"]
    assert device(store).user_count == 2


def test_clear_log_round_trip_loses_nothing(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ, batch_size=100)
        sim.handshake()
        sim.add_backlog(120, start=START, pins=PINS)
        sim.step()  # upload, then poll (which reports 120 records on the terminal)
        with store.sessions.begin() as s:
            [view] = queue_command(
                s, device_code="face-1", kind="clear_log", requested_by="hr", now=utcnow()
            )
        sim.punch("1001", START + timedelta(days=1))  # not uploaded yet
        assert sim.poll() == []  # held back: the terminal now reports 121 records
        sim.step()  # uploads the new punch, then receives CLEAR LOG
        sim.close()
    assert [c.command for c in sim.ledger.commands] == ["CLEAR LOG"]
    assert sim.ledger.lost_by_clear == 0
    assert sim.log == []
    with store.sessions() as s:
        assert s.get(PushCommand, view.id).status == "done"
    assert counts(store) == (121, 0)


def test_simulator_gives_up_after_its_attempt_limit(store):
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, "NOBODY", max_attempts=3, retry_delay=0.01)
        with pytest.raises(SimulatorGaveUp):
            sim.handshake()
        sim.close()
    assert sim.ledger.error_replies == 3


def test_realtime_loop_uploads_each_punch_and_stops(store):
    add_push_device(store, timezone=TZ)
    with live_server(store) as (url, _):
        sim = PushTerminalSimulator(url, SN, timezone=TZ, seed=3)
        loop = threading.Thread(
            target=sim.run, kwargs={"interval": 0.02, "pins": PINS, "punch_probability": 1.0}
        )
        loop.start()
        for _ in range(500):
            if sim.ledger.acked_through >= 5:
                break
            time.sleep(0.01)
        sim.stopping.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    assert sim.ledger.acked_through >= 5
    acked = expected(sim)
    # Punches made after the last upload may still be pending; the rest are stored once.
    pending = {(r.pin, r.when.replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC)) for r in sim.pending}
    assert stored(store) == acked - pending
    assert device(store).status == "online"
