"""BioTime servers through the poller, against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from collector.store.models import Punch
from devices.biotime.client import BioTimeClient, BioTimeTarget
from tests.collector.poller.biotime.conftest import (
    SN_BERLIN,
    SN_SHANGHAI,
    biotime_poller,
    punches_expected,
)
from tests.collector.poller.conftest import (
    device_row,
    emulate,
    json_summary,
    punch_count,
    quarantine_rows,
)

ZONES = {SN_SHANGHAI: "Asia/Shanghai", SN_BERLIN: "Europe/Berlin"}


def stored(store, code: str) -> list[Punch]:
    with store.sessions() as s:
        return list(s.scalars(select(Punch).where(Punch.device_code == code).order_by(Punch.id)))


def test_first_sync_reads_everything_then_only_new_ids_late_uploads_included(zk_store, biotime):
    server = biotime("bt", options={"page_size": 100, "terminal_zones": ZONES})
    server.fill(450, seed=9)
    poller = biotime_poller(zk_store, "bt")
    first = poller.poll()
    assert first is not None and first.reason == "first read" and first.read == 450
    assert first.inserted == punches_expected(server) == punch_count(zk_store, "bt")
    assert device_row(zk_store, "bt").sync_state == {"id": 450}
    again = poller.poll()
    assert again is not None and (again.read, again.inserted) == (0, 0)
    # A terminal offline for a week uploads an old punch now: it gets a new id.
    week_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=7)
    server.add_punch(SN_BERLIN, "2001", week_ago.replace(microsecond=0), state="1")
    late = poller.poll()
    assert late is not None and (late.read, late.inserted, late.reason) == (1, 1, "incremental")
    assert device_row(zk_store, "bt").status == "online"


def test_punch_times_get_their_terminals_zone_and_codes_are_mapped(zk_store, biotime):
    server = biotime("zones", timezone="UTC", options={"terminal_zones": ZONES})
    wall = datetime(2026, 11, 26, 9, 0)
    server.add_punch(SN_SHANGHAI, "7", wall, state="0", verify=15)
    server.add_punch(SN_BERLIN, "6", wall, state="1", verify=1)
    server.add_punch(SN_BERLIN, "8", wall, state="2", verify=4)
    server.add_punch(SN_BERLIN, "9", wall, state="255", verify=25)
    server.add_punch(SN_BERLIN, "9", wall + timedelta(hours=1), state="9", verify=0)
    outcome = biotime_poller(zk_store, "zones").poll()
    assert outcome is not None and outcome.inserted == 5
    got = [
        (p.occurred_at.replace(tzinfo=UTC), p.tz, p.state, p.verify)
        for p in stored(zk_store, "zones")
    ]
    assert got == [
        (datetime(2026, 11, 26, 1, 0, tzinfo=UTC), "Asia/Shanghai", "in", "face"),
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "Europe/Berlin", "out", "fingerprint"),
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "Europe/Berlin", "break_out", "card"),
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), "Europe/Berlin", "unknown", "palm"),
        (datetime(2026, 11, 26, 9, 0, tzinfo=UTC), "Europe/Berlin", "unknown", "password"),
    ]


def test_one_terminal_per_device_reads_only_its_punches_and_reports_it(zk_store, biotime):
    server = biotime("sh", timezone="Asia/Shanghai", options={"terminal_sn": SN_SHANGHAI})
    server.fill(60, seed=2)
    outcome = biotime_poller(zk_store, "sh").poll()
    assert outcome is not None and outcome.inserted == punches_expected(server, SN_SHANGHAI)
    assert all(q.get("terminal_sn") == SN_SHANGHAI for q in server.queries)
    row = device_row(zk_store, "sh")
    assert row.serial == SN_SHANGHAI and row.firmware and row.record_count == 30


def test_a_dropped_link_stores_nothing_half_and_the_next_poll_reads_all(zk_store, biotime):
    server = biotime("drop", options={"page_size": 50})
    server.fill(200, seed=4)
    server.faults.drop_after_pages = 2
    poller = biotime_poller(zk_store, "drop")
    assert poller.poll() is None
    assert device_row(zk_store, "drop").status == "offline" and punch_count(zk_store, "drop") == 0
    server.faults.drop_after_pages = None
    assert poller.poll() is not None
    assert punch_count(zk_store, "drop") == punches_expected(server)


def test_a_restored_database_with_lower_ids_is_read_again(zk_store, biotime):
    server = biotime("restore")
    server.fill(40, seed=5)
    poller = biotime_poller(zk_store, "restore")
    assert poller.poll() is not None
    before = punch_count(zk_store, "restore")
    server.clear(restart_ids=True)
    server.add_punch(SN_BERLIN, "3001", datetime(2026, 11, 27, 8, 0))
    outcome = poller.poll()
    assert outcome is not None and "started again" in outcome.reason
    assert outcome.inserted == 1 and punch_count(zk_store, "restore") == before + 1
    assert device_row(zk_store, "restore").sync_state == {"id": 1}


def test_jwt_forbidden_falls_back_and_wrong_password_is_unauthorized(zk_store, biotime):
    server = biotime("lic")
    server.fill(10)
    server.faults.jwt_forbidden = True
    assert biotime_poller(zk_store, "lic").poll() is not None
    assert server.logins == ["Token"] and punch_count(zk_store, "lic") == 10
    biotime("locked", password="nope")
    assert biotime_poller(zk_store, "locked").poll() is None
    assert device_row(zk_store, "locked").status == "unauthorized"


def test_an_unreadable_transaction_is_quarantined_once(zk_store, biotime):
    server = biotime("odd")
    server.add_punch(SN_BERLIN, "5", datetime(2026, 11, 26, 8, 0))
    broken = server.add_punch(SN_BERLIN, "6", datetime(2026, 11, 26, 9, 0))
    broken["punch_time"] = "yesterday"
    poller = biotime_poller(zk_store, "odd")
    outcome = poller.poll()
    assert outcome is not None and (outcome.inserted, outcome.quarantined) == (1, 1)
    assert device_row(zk_store, "odd").sync_state == {"id": 2}  # the cursor passed it
    quiet = poller.poll()
    assert quiet is not None and (quiet.read, quiet.quarantined) == (0, 0)
    server.add_punch(SN_BERLIN, "5", datetime(2026, 11, 26, 17, 0))
    later = poller.poll()  # the walk reads the page holding it again: not offered again
    assert later is not None and (later.inserted, later.quarantined) == (1, 0)
    items = [q for q in quarantine_rows(zk_store) if q.device_code == "odd"]
    assert len(items) == 1 and "unreadable punch_time" in items[0].reason


def test_sync_command_reads_a_configured_biotime_device(biotime, sync_cli):
    server = biotime("cli")
    server.fill(25)
    summary = json_summary(sync_cli("cli", "--json"))
    assert summary["inserted"] == 25 and summary["transport"] == "biotime-api"


def test_emulate_biotime_command_serves_the_client():
    command = "biotime --port 0 --punches 70 --password s3cret --duration 60"
    with emulate(*command.split()) as hello:
        (port,) = hello["ports"]
        target = BioTimeTarget("127.0.0.1", port, password="s3cret", page_size=30)
        with BioTimeClient(target) as client:
            ids = {i.id for p in client.pages_after(0) for i in p.items}
        assert ids == set(range(1, 71)) and len(hello["terminals"]) == 2
