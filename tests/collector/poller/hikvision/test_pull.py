"""Hikvision terminals through the poller, against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from collector.store.models import Punch
from devices.hikvision.client import ISAPIClient, ISAPITarget
from tests.collector.poller.conftest import (
    device_row,
    emulate,
    json_summary,
    poll_once,
    punch_count,
    quarantine_rows,
)
from tests.collector.poller.hikvision.conftest import hik_poller, punches_expected


def test_first_sync_stores_punches_ignores_door_events_with_counts_then_nothing_new(zk_store, hik):
    terminal = hik("hq", events=200)
    poller = hik_poller(zk_store, "hq")
    first = poller.poll()
    assert first is not None and first.reason == "first read"
    doors = sum(1 for e in terminal.events if not e.get("employeeNoString"))
    assert first.read == len(terminal.events) and first.ignored == doors > 0
    assert sum(first.ignored_reasons.values()) == doors
    assert set(first.ignored_reasons) <= {
        "event 5/21: door unlocked",
        "event 5/22: door locked",
        "event 5/76: face verification failed",
    }
    assert first.inserted == punches_expected(terminal) == punch_count(zk_store, "hq")
    row = device_row(zk_store, "hq")
    assert row.sync_state["serial"] == terminal.events[-1]["serialNo"]
    assert row.status == "online" and row.serial == "SN-hq" and row.platform == terminal.model
    assert row.firmware and row.reported_until is not None
    assert row.clock_skew_s is not None and abs(row.clock_skew_s) < 5
    again = poller.poll()
    assert again is not None and (again.read, again.inserted, again.duplicates) == (0, 0, 0)
    terminal.add_event(datetime.now(UTC), minor=38, employee="1001", status="checkOut")
    third = poller.poll()
    assert third is not None and (third.read, third.inserted, third.reason) == (1, 1, "incremental")


def test_a_crash_between_pages_resumes_from_the_committed_cursor(zk_store, hik):
    terminal = hik("door", events=300)
    poller = hik_poller(zk_store, "door")
    terminal.faults.drop_after_pages = 3  # the link dies when the 4th page is asked for
    assert poller.poll() is None  # a device error: recorded, not raised
    row = device_row(zk_store, "door")
    assert row.status == "offline" and "dropped" in (row.last_error or "")
    committed = row.sync_state["serial"]
    assert committed == terminal.events[89]["serialNo"]  # three pages of thirty
    stored = punch_count(zk_store, "door")
    assert 0 < stored < punches_expected(terminal)
    terminal.faults.drop_after_pages = None
    rest = poller.poll()
    assert rest is not None
    assert rest.read == len(terminal.events) - 90 and rest.duplicates == 0
    assert punch_count(zk_store, "door") == punches_expected(terminal)
    begins = [c.get("beginSerialNo") for c in terminal.conditions]
    assert committed + 1 in begins
    assert device_row(zk_store, "door").status == "online"


def test_firmware_ignoring_begin_serial_reads_nothing_twice(zk_store, hik):
    terminal = hik("old", events=100)
    terminal.faults.ignore_begin_serial = True
    poller = hik_poller(zk_store, "old")
    first = poller.poll()
    assert first is not None and first.inserted == punches_expected(terminal)
    second = poller.poll()
    assert second is not None and (second.read, second.duplicates) == (0, 0)
    assert device_row(zk_store, "old").sync_state["ignores_begin_serial"] is True
    # Found out on the second poll; from the third the window starts an overlap before
    # the last event read instead of in 2000.
    third = poller.poll()
    assert third is not None and (third.read, third.duplicates) == (0, 0)
    searches = [c for c in terminal.conditions if not c.get("timeReverseOrder")]
    assert searches[0]["startTime"] < "2001" < "2020" < searches[-1]["startTime"]


def test_a_restarted_serial_counter_is_read_again_from_the_start(zk_store, hik):
    terminal = hik("reset", events=50)
    poller = hik_poller(zk_store, "reset")
    assert poller.poll() is not None
    before = punch_count(zk_store, "reset")
    terminal.clear_log(restart_serial=True)
    terminal.add_event(datetime.now(UTC), minor=75, employee="2001", status="checkIn")
    outcome = poller.poll()
    assert outcome is not None and "restarted" in outcome.reason
    assert outcome.inserted == 1 and punch_count(zk_store, "reset") == before + 1
    assert device_row(zk_store, "reset").sync_state["serial"] == 1


def test_refused_credentials_mark_the_device_unauthorized_without_crashing(zk_store, hik):
    terminal = hik("locked", events=10, password="not-the-password")
    poller = hik_poller(zk_store, "locked")
    assert poller.poll() is None
    row = device_row(zk_store, "locked")
    assert row.status == "unauthorized" and "refused" in (row.last_error or "")
    assert punch_count(zk_store, "locked") == 0 and terminal.pages_served == 0


def test_push_only_model_is_reported_not_crashed(zk_store, hik):
    terminal = hik("pushy", events=10)
    terminal.faults.push_only = True
    assert hik_poller(zk_store, "pushy").poll() is None
    assert "notSupport" in (device_row(zk_store, "pushy").last_error or "")


def test_times_keep_their_offset_and_states_and_credentials_are_mapped(zk_store, hik):
    # The terminal's clock shows Shanghai time; the device row says Berlin (misconfigured):
    # the offset in each event decides the instant, the row's zone only the stored zone.
    terminal = hik("sh", timezone="Asia/Shanghai", device_zone="Europe/Berlin")
    cases = [
        ("2026-11-26T09:00:00", 75, "checkIn", "in", "face"),
        ("2026-11-26T12:00:00", 38, "breakOut", "break_out", "fingerprint"),
        ("2026-11-26T13:00:00", 1, "breakIn", "break_in", "card"),
        ("2026-11-26T18:00:00", 75, "checkOut", "out", "face"),
        ("2026-11-26T19:00:00", 75, "overtimeIn", "overtime_in", "face"),
        ("2026-11-26T23:30:00", 75, "overtimeOut", "overtime_out", "face"),
        ("2026-11-27T08:00:00", 75, "undefined", "unknown", "face"),
    ]
    for local, minor, status, _, _ in cases:
        terminal.add_event(datetime.fromisoformat(local), minor=minor, employee="7", status=status)
    outcome = hik_poller(zk_store, "sh").poll()
    assert outcome is not None and outcome.inserted == len(cases)
    with zk_store.sessions() as s:
        rows = list(s.scalars(select(Punch).where(Punch.device_code == "sh").order_by(Punch.id)))
    got = [(p.occurred_at.replace(tzinfo=UTC), p.state, p.verify) for p in rows]
    shanghai = [datetime.fromisoformat(f"{local}+08:00").astimezone(UTC) for local, *_ in cases]
    assert got == [(t, c[3], c[4]) for t, c in zip(shanghai, cases, strict=True)]
    assert rows[0].source_ref == "serialNo 1" and "pictureURL" not in (rows[0].raw or "")


def test_an_unreadable_event_is_quarantined_once_and_a_naive_time_gets_the_device_zone(
    zk_store, hik
):
    terminal = hik("odd", timezone="Europe/Berlin")
    terminal.add_event(datetime(2026, 11, 26, 8, 0), minor=75, employee="5", status="checkIn")
    naive = terminal.add_event(datetime(2026, 11, 26, 17, 0), minor=75, employee="5")
    naive["time"] = "2026-11-26T17:00:00"  # an older firmware: no offset
    terminal.events.append({"major": 5, "minor": 75, "serialNo": 3, "time": "yesterday"})
    poller = hik_poller(zk_store, "odd")
    outcome = poller.poll()
    assert outcome is not None and (outcome.inserted, outcome.quarantined) == (2, 1)
    (item,) = [q for q in quarantine_rows(zk_store) if q.device_code == "odd"]
    assert "unreadable time" in item.reason
    again = poller.poll()
    assert again is not None and again.inserted == 0
    assert len([q for q in quarantine_rows(zk_store) if q.device_code == "odd"]) == 1
    with zk_store.sessions() as s:
        times = s.scalars(select(Punch.occurred_at).where(Punch.device_code == "odd")).all()
    assert sorted(t.replace(tzinfo=UTC) for t in times) == [
        datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 16, 0, tzinfo=UTC),  # 17:00 in Berlin (CET, +01:00)
    ]


def test_the_worker_polls_hik_and_zk_devices_together(zk_store, hik):
    hik("w1", events=30)
    assert poll_once(zk_store, ["w1"]) == ["w1"] and punch_count(zk_store, "w1") > 0


def test_sync_command_reads_a_configured_hik_device(zk_store, hik, sync_cli):
    terminal = hik("cli", events=60)
    summary = json_summary(sync_cli("cli", "--json"))
    assert summary["inserted"] == punches_expected(terminal) and summary["ignored"] > 0
    terminal.faults.wrong_password = True
    refused = sync_cli("cli")
    assert refused.exit_code == 2 and "refused" in refused.output
    assert device_row(zk_store, "cli").status == "unauthorized"


def test_emulate_hikvision_command_serves_the_client():
    command = (
        "hikvision --port 0 --events 40 --password s3cret --timezone Asia/Shanghai --duration 60"
    )
    with emulate(*command.split()) as hello:
        (port,) = hello["ports"]
        with ISAPIClient(ISAPITarget("127.0.0.1", port, password="s3cret")) as client:
            clock = client.clock()
            pages = list(client.search(datetime(2000, 1, 1, tzinfo=clock.tzinfo), clock))
        assert clock.utcoffset() == timedelta(hours=8)
        punches = [e for p in pages for e in p.events if e.ignore_reason() is None]
        assert len(punches) == 40
