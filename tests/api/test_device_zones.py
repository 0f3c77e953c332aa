"""A device's zone corrected through the API: its punches re-timed and audited, never doubled."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from collector.normalize import NormalizePolicy
from collector.push.terminals import approve
from collector.store.ingest import ingest_batch
from collector.store.models import Device, DirtyDay, Punch
from rules.vocabulary import PunchFlag, SourceKind
from tests.factories import raw_punch
from tests.push_support import add_push_device

SN = "SIM0001"
UNKNOWN = int(PunchFlag.UNKNOWN_EMPLOYEE)  # no employee has codes 7 and 8
ATTLOG = (
    "1001\t2026-03-02 09:00:05\t0\t15\t0\t0\n"
    "1001\t2026-03-29 02:30:00\t0\t1\t0\t0\n"  # in Berlin's spring gap
    "1001\t2026-07-01 17:30:00\t1\t1\t0\t0\n"
)


def _punches(store, device: str) -> list[tuple[datetime, str, int]]:
    with store.sessions() as s:
        rows = s.execute(
            select(Punch.occurred_at, Punch.tz, Punch.flags)
            .where(Punch.device_code == device)
            .order_by(Punch.occurred_at)
        ).all()
    return [tuple(r) for r in rows]


def _upload(admin) -> None:
    reply = admin.post(f"/iclock/cdata?SN={SN}&table=ATTLOG", content=ATTLOG)
    assert (reply.status_code, reply.text) == (200, "OK")


def test_correcting_a_push_terminals_zone_retimes_its_punches(admin, store):
    add_push_device(store, serial=SN, code="face-1", timezone="UTC")  # the wrong zone
    assert admin.post("/employees", json={"code": "1001"}).status_code == 201  # days to mark
    _upload(admin)
    assert [at for at, _, _ in _punches(store, "face-1")] == [
        datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
        datetime(2026, 7, 1, 17, 30, tzinfo=UTC),
    ]
    with store.sessions.begin() as s:
        s.query(DirtyDay).delete()
        device_id = s.scalar(select(Device.id).where(Device.code == "face-1"))

    changed = admin.patch(f"/devices/{device_id}", json={"timezone": "Europe/Berlin"})
    assert changed.status_code == 200 and changed.json()["timezone"] == "Europe/Berlin"
    gap = int(PunchFlag.DST_GAP)
    assert _punches(store, "face-1") == [
        (datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC), "Europe/Berlin", 0),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Europe/Berlin", gap),
        (datetime(2026, 7, 1, 15, 30, tzinfo=UTC), "Europe/Berlin", 0),
    ]
    with store.sessions() as s:
        dirty = {d for (d,) in s.execute(select(DirtyDay.local_date))}
    assert {date(2026, 3, 2), date(2026, 3, 29), date(2026, 7, 1)} <= dirty
    entries = admin.get("/audit", params={"entity": "device"}).json()
    assert [(e["action"], e["entity_id"], e["details"]) for e in entries] == [
        (
            "device.timezone",
            str(device_id),
            {"device": "face-1", "from": "UTC", "to": "Europe/Berlin", "retimed": 3},
        )
    ]
    assert entries[0]["actor"].startswith("apikey:")

    _upload(admin)  # the terminal sends the same records again
    assert len(_punches(store, "face-1")) == 3


def test_a_site_zone_change_moves_the_devices_that_took_the_sites_zone(admin, store, engine, now):
    site = admin.post("/sites", json={"code": "hq", "name": "HQ", "timezone": "UTC"}).json()
    door = admin.post("/devices", json={"code": "door", "site": "hq"}).json()
    tokyo = admin.post(
        "/devices", json={"code": "tokyo", "site": "hq", "timezone": "Asia/Tokyo"}
    ).json()
    assert door["timezone"] == "UTC"
    when = datetime(2026, 1, 15, 9, 0)
    batch = [
        raw_punch("7", when, device_code="door", tz="UTC"),
        raw_punch("8", when, device_code="tokyo", tz="Asia/Tokyo"),
    ]
    ingest_batch(engine, batch, now=now, policy=NormalizePolicy())

    assert (
        admin.patch(f"/sites/{site['id']}", json={"timezone": "Europe/Berlin"}).status_code == 200
    )
    assert admin.get(f"/devices/{door['id']}").json()["timezone"] == "Europe/Berlin"
    assert admin.get(f"/devices/{tokyo['id']}").json()["timezone"] == "Asia/Tokyo"
    assert _punches(store, "door") == [
        (datetime(2026, 1, 15, 8, 0, tzinfo=UTC), "Europe/Berlin", UNKNOWN)
    ]
    assert _punches(store, "tokyo") == [
        (datetime(2026, 1, 15, 0, 0, tzinfo=UTC), "Asia/Tokyo", UNKNOWN)
    ]
    again = ingest_batch(
        engine,
        [raw_punch("7", when, device_code="door", source_kind=SourceKind.TERMINAL)],
        now=now,
        policy=NormalizePolicy(),
    )
    assert (again.inserted, again.duplicates) == (0, 1)


def test_push_approve_with_a_zone_retimes_like_any_zone_change(admin, store):
    add_push_device(store, serial=SN, code="face-1", timezone="UTC")
    _upload(admin)
    approve(store, serial=SN, code="face-main", timezone="Europe/Berlin")
    # The punches keep the code they were stored with; their times moved.
    assert [at for at, _, _ in _punches(store, "face-1")] == [
        datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 7, 1, 15, 30, tzinfo=UTC),
    ]
    entries = admin.get("/audit", params={"entity": "device"}).json()
    assert [(e["actor"], e["details"]["retimed"]) for e in entries] == [("cli:push approve", 3)]
