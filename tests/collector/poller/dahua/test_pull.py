"""Dahua controllers through the poller, against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from collector.reports.devices import device_health
from collector.store.models import Punch
from devices.dahua.client import DahuaClient, DahuaTarget
from rules.vocabulary import PunchFlag
from tests.collector.poller.conftest import (
    device_row,
    emulate,
    json_summary,
    poll_once,
    punch_count,
    quarantine_rows,
)
from tests.collector.poller.dahua.conftest import dahua_poller, punches_expected


def stored(store, code: str) -> list[Punch]:
    with store.sessions() as s:
        return list(s.scalars(select(Punch).where(Punch.device_code == code).order_by(Punch.id)))


def test_first_sync_stores_punches_counts_door_events_then_reads_only_what_is_new(zk_store, dahua):
    controller = dahua("hq", records=300)
    poller = dahua_poller(zk_store, "hq")
    first = poller.poll()
    assert first is not None and first.reason == "first read"
    others = sum(1 for r in controller.records if r["Method"] == 5 or r["Status"] != 1)
    assert first.read == len(controller.records) and first.ignored == others > 0
    assert set(first.ignored_reasons) <= {
        "method 5: exit button",
        "verification failed (Status=0)",
    }
    assert first.inserted == punches_expected(controller) == punch_count(zk_store, "hq")
    row = device_row(zk_store, "hq")
    assert row.sync_state["rec_no"] == controller.records[-1]["RecNo"]
    assert row.status == "online" and row.serial == "SN-hq"
    assert row.platform == controller.device_type and row.firmware
    assert row.clock_skew_s is not None and abs(row.clock_skew_s) < 5
    again = poller.poll()
    assert again is not None and (again.read, again.inserted, again.duplicates) == (0, 0, 0)
    newest = max(r["CreateTime"] for r in controller.records)
    controller.add_record(datetime.now(UTC), user="1001", method=6, state=4)
    third = poller.poll()
    assert third is not None and (third.read, third.inserted, third.reason) == (
        1,
        1,
        "incremental",
    )
    # Each sync asks from a day before the newest record read, not from the start.
    assert int(controller.queries[-1]["StartTime"]) == newest - 86_400


def test_a_dropped_link_between_pages_resumes_from_the_committed_cursor(zk_store, dahua):
    controller = dahua("door", records=400, options={"page_size": 100, "commit_records": 100})
    poller = dahua_poller(zk_store, "door")
    controller.faults.drop_after_pages = 2  # the link dies when the 3rd page is asked for
    assert poller.poll() is None  # a device error: recorded, not raised
    row = device_row(zk_store, "door")
    assert row.status == "offline" and "dropped" in (row.last_error or "")
    committed = row.sync_state["rec_no"]
    assert 0 < committed < controller.records[-1]["RecNo"]
    assert 0 < punch_count(zk_store, "door") < punches_expected(controller)
    controller.faults.drop_after_pages = None
    rest = poller.poll()
    assert rest is not None and rest.duplicates == 0
    assert rest.read == len([r for r in controller.records if r["RecNo"] > committed])
    assert punch_count(zk_store, "door") == punches_expected(controller)
    assert device_row(zk_store, "door").status == "online"


def test_a_cleared_log_with_a_restarted_counter_is_read_from_the_restart(zk_store, dahua):
    controller = dahua("reset", records=50)
    poller = dahua_poller(zk_store, "reset")
    assert poller.poll() is not None
    before = punch_count(zk_store, "reset")
    controller.clear_log(restart_rec_no=True)
    now = datetime.now(UTC)
    controller.add_record(now, user="2001", method=15, state=1)
    controller.add_record(now + timedelta(seconds=5), user="2002", method=15, state=1)
    outcome = poller.poll()
    assert outcome is not None and "restarted" in outcome.reason
    assert outcome.inserted == 2 and punch_count(zk_store, "reset") == before + 2
    assert device_row(zk_store, "reset").sync_state["rec_no"] == 2
    controller.add_record(now + timedelta(seconds=9), user="2003", method=15, state=4)
    after = poller.poll()
    assert after is not None and (after.read, after.inserted) == (1, 1)


def test_a_rolled_over_counter_loses_nothing_and_settles(zk_store, dahua):
    controller = dahua("wrap")
    controller.faults.rec_no_limit = 30
    start = datetime.now(UTC) - timedelta(hours=3)
    for i in range(25):
        controller.add_record(start + timedelta(minutes=i), user=str(100 + i % 5), state=1)
    poller = dahua_poller(zk_store, "wrap")
    assert poller.poll() is not None
    for i in range(25, 40):  # RecNo 26..30, then 1..10 (the old 1..25 stay on the device)
        controller.add_record(start + timedelta(minutes=i), user=str(100 + i % 5), state=1)
    wrapped = poller.poll()
    assert wrapped is not None and wrapped.duplicates == 0
    assert punch_count(zk_store, "wrap") == 40
    settled = poller.poll()
    assert settled is not None and (settled.read, settled.inserted) == (0, 0)
    controller.add_record(start + timedelta(minutes=41), user="100", state=4)
    one = poller.poll()
    assert one is not None and (one.read, one.inserted, one.duplicates) == (1, 1, 0)


def test_a_record_made_after_the_clock_was_set_back_is_still_read(zk_store, dahua):
    controller = dahua("back")
    now = datetime.now(UTC).replace(microsecond=0)
    controller.add_record(now, user="1", state=1)
    poller = dahua_poller(zk_store, "back")
    assert poller.poll() is not None
    # Someone sets the clock back two hours: the next record is older than the cursor's time.
    controller.add_record(now - timedelta(hours=2), user="2", state=1)
    outcome = poller.poll()
    assert outcome is not None and (outcome.read, outcome.inserted) == (1, 1)
    assert "restarted" not in outcome.reason


def test_refused_credentials_mark_the_device_unauthorized_without_crashing(zk_store, dahua):
    controller = dahua("locked", records=10, password="not-the-password")
    assert dahua_poller(zk_store, "locked").poll() is None
    row = device_row(zk_store, "locked")
    assert row.status == "unauthorized" and "refused" in (row.last_error or "")
    assert punch_count(zk_store, "locked") == 0 and controller.pages_served == 0


def test_a_garbled_reply_is_reported_and_the_next_poll_reads_everything(zk_store, dahua):
    controller = dahua("noisy", records=30)
    controller.faults.garble_find = 1
    poller = dahua_poller(zk_store, "noisy")
    assert poller.poll() is None
    assert "unreadable" in (device_row(zk_store, "noisy").last_error or "")
    assert poller.poll() is not None
    assert punch_count(zk_store, "noisy") == punches_expected(controller)


def test_states_and_credentials_are_mapped_and_a_skewed_clock_is_flagged(zk_store, dahua):
    controller = dahua("map", timezone="Asia/Shanghai")
    controller.skew_s = 3600
    base = datetime(2026, 11, 26, 9, 0)  # Shanghai wall clock
    cases = [
        (0, 15, 1, "in", "face"),
        (180, 6, 2, "break_out", "fingerprint"),
        (240, 1, 3, "break_in", "card"),
        (540, 15, 4, "out", "face"),
        (600, 15, 5, "overtime_in", "face"),
        (840, 0, 6, "overtime_out", "password"),
        (900, 15, 0, "unknown", "face"),
    ]
    for minutes, method, state, *_ in cases:
        controller.add_record(
            base + timedelta(minutes=minutes), user="7", method=method, state=state
        )
    outcome = dahua_poller(zk_store, "map").poll()
    assert outcome is not None and outcome.inserted == len(cases) and outcome.clock_flagged
    rows = stored(zk_store, "map")
    got = [(p.occurred_at.replace(tzinfo=UTC), p.state, p.verify) for p in rows]
    want = [
        ((base + timedelta(minutes=m)).replace(tzinfo=controller.zone).astimezone(UTC), s, v)
        for m, _, _, s, v in cases
    ]
    assert got == want
    assert rows[0].source_ref == "RecNo 1" and '"Method":"15"' in (rows[0].raw or "")
    assert all(p.flags & PunchFlag.CLOCK_SKEW for p in rows)


def test_local_create_times_get_the_device_zone_and_door_direction_is_optional(zk_store, dahua):
    controller = dahua(
        "berlin",
        timezone="Europe/Berlin",
        firmware="local",
        options={"local_times": True, "door_direction": True},
    )
    controller.add_record(datetime(2026, 11, 26, 8, 0), user="5", method=15, door_type="Entry")
    controller.add_record(datetime(2026, 11, 26, 17, 0), user="5", method=15, door_type="Exit")
    outcome = dahua_poller(zk_store, "berlin").poll()
    assert outcome is not None and outcome.inserted == 2
    rows = stored(zk_store, "berlin")
    assert [(p.occurred_at.replace(tzinfo=UTC), p.state) for p in rows] == [
        (datetime(2026, 11, 26, 7, 0, tzinfo=UTC), "in"),
        (datetime(2026, 11, 26, 16, 0, tzinfo=UTC), "out"),
    ]


def test_an_unreadable_record_is_quarantined_once(zk_store, dahua):
    controller = dahua("odd")
    controller.add_record(datetime(2026, 11, 26, 8, 0, tzinfo=UTC), user="5", state=1)
    broken = controller.add_record(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), user="6", state=1)
    broken["UserID"] = "6"
    broken["AttendanceState"] = "in"  # not a number: this record cannot be read
    poller = dahua_poller(zk_store, "odd")
    outcome = poller.poll()
    assert outcome is not None and (outcome.inserted, outcome.quarantined) == (1, 1)
    (item,) = [q for q in quarantine_rows(zk_store) if q.device_code == "odd"]
    assert "unreadable record" in item.reason and "AttendanceState" in item.reason
    assert device_row(zk_store, "odd").sync_state["rec_no"] == 2  # the cursor passed it
    again = poller.poll()  # the day of overlap reads it again: it is not offered again
    assert again is not None and (again.read, again.quarantined) == (0, 0)
    assert len([q for q in quarantine_rows(zk_store) if q.device_code == "odd"]) == 1


def test_the_worker_polls_dahua_devices(zk_store, dahua):
    dahua("w1", records=30)
    assert poll_once(zk_store, ["w1"]) == ["w1"] and punch_count(zk_store, "w1") > 0


def test_sync_command_reads_a_configured_dahua_device(zk_store, dahua, sync_cli):
    controller = dahua("cli", records=60)
    summary = json_summary(sync_cli("cli", "--json"))
    assert summary["inserted"] == punches_expected(controller) and summary["transport"] == "cgi"
    controller.faults.wrong_password = True
    refused = sync_cli("cli")
    assert refused.exit_code == 2 and "refused" in refused.output
    assert device_row(zk_store, "cli").status == "unauthorized"


def test_emulate_dahua_command_serves_the_client():
    command = "dahua --port 0 --records 40 --password s3cret --timezone Asia/Shanghai --duration 60"
    with emulate(*command.split()) as hello:
        (port,) = hello["ports"]
        with DahuaClient(DahuaTarget("127.0.0.1", port, password="s3cret")) as client:
            records = [r for p in client.pages(1, 2**31 - 1) for r in p.records]
            clock = client.clock()
        shanghai = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
        assert abs((clock - shanghai).total_seconds()) < 60
        assert len({r.rec_no for r in records if r.ignore_reason() is None}) == 40


def test_the_devices_report_shows_a_dahua_controller_with_its_skew(zk_store, dahua, now):
    controller = dahua("report", records=20)
    controller.skew_s = 120
    assert dahua_poller(zk_store, "report").poll() is not None
    with zk_store.engine.connect() as conn:
        rows = {r["device_code"]: r for r in device_health(conn, now=now).dicts()}
    row = rows["report"]
    assert (row["kind"], row["status"], row["firmware"]) == (
        "dahua",
        "online",
        controller.firmware_version,
    )
    assert 100 < row["clock_skew_s"] < 140
