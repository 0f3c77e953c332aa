"""A terminal read with another zone, or with its zone corrected, keeps each record once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from typer.testing import CliRunner

from collector.cli import app
from collector.config import apply_config, parse_config
from collector.days.dirty import process_dirty
from collector.importing import ImportOptions, import_file
from collector.normalize import NormalizePolicy
from collector.poller.sync import sync_terminal
from collector.poller.terminals import load_terminals
from collector.store.models import AttendanceDay, AuditLog, Device, DirtyDay, Punch
from devices.types import DevicePunch
from devices.zk.driver import ZKSession
from devices.zk.emulator import EmulatorHost, Terminal
from devices.zk.records import parse_attendance
from tests.collector.poller.conftest import distinct_punches, punch_count

BERLIN = "Europe/Berlin"
BERLIN_TZ = ZoneInfo(BERLIN)
FLEX = {
    "name": "flex",
    "kind": "flexitime",
    "document": {
        "target_min": 480,
        "flex": {
            "earliest_start": "06:00",
            "latest_start": "10:00",
            "earliest_end": "14:00",
            "latest_end": "20:00",
        },
    },
}


def _port(emulator: EmulatorHost, terminal: Terminal) -> int:
    return next(p for p, t in emulator.terminals.items() if t is terminal)


def _sync(runner: CliRunner, port: int, *extra: str) -> dict[str, Any]:
    result = runner.invoke(
        app, ["sync", "--host", "127.0.0.1", "--port", str(port), "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def _punches(store, device: str) -> dict[str, Punch]:
    with store.sessions() as s:
        return {
            p.dedupe_key: p for p in s.scalars(select(Punch).where(Punch.device_code == device))
        }


def test_a_terminal_synced_again_with_another_zone_stores_nothing_new(
    zk_store, add_terminal, emulator, monkeypatch
):
    terminal = add_terminal("berlin", records=1000, timezone=BERLIN)
    port = _port(emulator, terminal)
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    runner = CliRunner()
    first = _sync(runner, port, "--timezone", BERLIN)
    assert first["inserted"] == distinct_punches(terminal)
    again = _sync(runner, port, "--timezone", "UTC")
    assert again["clock_flagged"]  # an hour off: the zone, not the punches, is what changed
    assert (again["read"], again["inserted"], again["duplicates"]) == (1000, 0, 1000)
    assert punch_count(zk_store, f"127.0.0.1:{port}") == distinct_punches(terminal)


def test_sync_host_takes_the_zone_of_the_configured_device_at_that_address(
    zk_store, add_terminal, emulator, monkeypatch
):
    terminal = add_terminal("door", records=40, timezone=BERLIN)
    port = _port(emulator, terminal)
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    summary = _sync(CliRunner(), port)
    assert summary["inserted"] == distinct_punches(terminal)
    assert not summary["clock_flagged"]
    zones = {p.tz for p in _punches(zk_store, f"127.0.0.1:{port}").values()}
    assert zones == {BERLIN}


def test_sync_host_without_a_zone_or_a_configured_device_is_refused(zk_store, monkeypatch):
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    runner = CliRunner()
    refused = runner.invoke(app, ["sync", "--host", "127.0.0.1", "--port", "9"])
    assert refused.exit_code == 2
    assert "--timezone" in refused.output
    assert "no configured device has the address 127.0.0.1:9" in refused.output
    unknown = runner.invoke(
        app, ["sync", "--host", "127.0.0.1", "--port", "9", "--timezone", "Mars/Olympus"]
    )
    assert unknown.exit_code == 2
    assert "unknown timezone 'Mars/Olympus'" in unknown.output


def test_correcting_a_terminals_zone_in_the_config_retimes_its_punches(zk_store, add_terminal, now):
    store = zk_store
    add_terminal("door", records=400, users=6, timezone=BERLIN)
    people = [
        {"code": str(1001 + i), "policy": "flex", "policy_from": "2026-01-01"} for i in range(6)
    ]
    with store.sessions.begin() as s:
        apply_config(s, parse_config({"policies": [FLEX], "employees": people}), now=now)
        # Declared with the wrong zone: the terminal's clock runs on Berlin time.
        s.execute(update(Device).where(Device.code == "door").values(timezone="UTC"))
    terminal = load_terminals(store.engine, ["door"], box=store.box)[0]
    with ZKSession(terminal.target(store.settings)) as session:
        first = sync_terminal(store, terminal, session)
    process_dirty(store.engine, now=now)
    before = _punches(store, "door")
    with store.sessions() as s:
        days_before = {
            (d.employee_id, d.local_date): d.first_in for d in s.scalars(select(AttendanceDay))
        }
    assert {p.tz for p in before.values()} == {"UTC"} and first.inserted == len(before)
    with store.sessions.begin() as s:
        s.query(DirtyDay).delete()

    device: dict[str, Any] = {"code": "door", "kind": "zk", "host": "127.0.0.1", "timezone": BERLIN}
    device["port"] = terminal.port
    with store.sessions.begin() as s:
        apply_config(
            s, parse_config({"devices": [device]}), now=now, box=store.box, actor="config:test"
        )
    after = _punches(store, "door")
    assert after.keys() == before.keys()  # the same records, keys unchanged
    # Each punch moved by Berlin's offset on its day (+02:00 before 25 October, +01:00 after).
    shifts = {before[k].occurred_at - after[k].occurred_at for k in before}
    assert shifts == {timedelta(hours=1), timedelta(hours=2)}
    assert all(
        after[k].occurred_at == before[k].occurred_at.replace(tzinfo=BERLIN_TZ) for k in before
    )
    assert {p.tz for p in after.values()} == {BERLIN}
    assert all(after[k].local_date == before[k].local_date for k in before)
    with store.sessions() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "device.timezone")).one()
        dirty = {(d.employee_id, d.local_date) for d in s.scalars(select(DirtyDay))}
    assert audit.actor == "config:test"
    assert audit.details == {"device": "door", "from": "UTC", "to": BERLIN, "retimed": len(before)}
    assert {(p.employee_id, p.local_date) for p in after.values()} <= dirty

    process_dirty(store.engine, now=now)
    with store.sessions() as s:
        days_after = {
            (d.employee_id, d.local_date): d.first_in for d in s.scalars(select(AttendanceDay))
        }
    moved = {k: days_after[k] - days_before[k] for k, v in days_before.items() if v is not None}
    assert moved and set(moved.values()) == {-x for x in shifts}
    # Read the whole log again (a reset cursor): every record is recognised.
    with store.sessions.begin() as s:
        s.execute(update(Device).where(Device.code == "door").values(sync_state={}))
    terminal = load_terminals(store.engine, ["door"], box=store.box)[0]
    with ZKSession(terminal.target(store.settings)) as session:
        again = sync_terminal(store, terminal, session)
    assert (again.read, again.inserted) == (400, 0)
    assert punch_count(store, "door") == len(before)


def test_a_terminal_record_and_the_same_row_of_an_old_export_are_stored_once(
    zk_store, add_terminal, emulator, now, tmp_path
):
    terminal = add_terminal("door", records=300, timezone=BERLIN)
    loaded = load_terminals(zk_store.engine, ["door"], box=zk_store.box)[0]
    with ZKSession(loaded.target(zk_store.settings)) as session:
        stored = sync_terminal(zk_store, loaded, session).inserted
    records = [
        r
        for r in parse_attendance(bytes(terminal.log), terminal.spec.record_size)
        if isinstance(r, DevicePunch)
    ]
    export = tmp_path / "old-system.csv"
    export.write_text(
        "employee_code,timestamp,state\n"
        + "".join(f"{r.user_id},{r.timestamp:%Y-%m-%d %H:%M:%S},{r.state}\n" for r in records)
    )
    # In the terminal's zone, and with no zone at all (the default, UTC): the same records.
    for zone_name in (BERLIN, None):
        summary = import_file(
            zk_store.engine,
            export,
            options=ImportOptions(timezone=zone_name),
            now=now,
            policy=NormalizePolicy(),
        )
        assert (summary.rows, summary.inserted, summary.duplicates) == (300, 0, 300)
    with zk_store.sessions() as s:
        total = len(s.scalars(select(Punch.id)).all())
    assert total == stored == distinct_punches(terminal)
