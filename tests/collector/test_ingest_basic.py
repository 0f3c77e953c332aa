"""Ingest stores once, counts honestly and quarantines what it cannot read."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from collector.normalize import NormalizePolicy, RawPunch
from collector.store.ingest import Outcome, QuarantineItem, ingest_batch
from collector.store.models import DirtyDay, Punch, Quarantine
from rules.vocabulary import PunchFlag, SourceKind
from tests.factories import add_employee, raw_punch

POLICY = NormalizePolicy()


def test_same_batch_twice_is_stored_once(engine, store, now):
    with store.sessions.begin() as s:
        add_employee(s, "1001", now)
    batch = [raw_punch("1001", datetime(2026, 3, 2, 9, m)) for m in range(10)]
    first = ingest_batch(engine, batch, now=now, policy=POLICY)
    second = ingest_batch(engine, batch, now=now, policy=POLICY)
    assert (first.inserted, first.duplicates, first.quarantined) == (10, 0, 0)
    assert (second.inserted, second.duplicates, second.quarantined) == (0, 10, 0)
    assert second.outcomes == [Outcome.DUPLICATE] * 10
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 10
        days = s.execute(select(DirtyDay.employee_id, DirtyDay.local_date)).all()
        assert [(d[1].isoformat()) for d in days] == ["2026-03-02"]


@pytest.mark.parametrize("kind", [SourceKind.TERMINAL, SourceKind.PUSH, SourceKind.IMPORT])
def test_the_same_records_read_with_another_zone_are_duplicates(engine, store, now, kind):
    with store.sessions.begin() as s:
        add_employee(s, "1001", now)
    local = [datetime(2026, 3, d, 9, m, 7) for d in (2, 29) for m in range(5)]
    berlin = [raw_punch("1001", t, source_kind=kind) for t in local]
    utc = [raw_punch("1001", t, source_kind=kind, tz="UTC") for t in local]
    first = ingest_batch(engine, berlin, now=now, policy=POLICY)
    again = ingest_batch(engine, utc, now=now, policy=POLICY)
    assert (first.inserted, again.inserted, again.duplicates) == (10, 0, 10)
    with store.sessions() as s:
        stored = s.scalars(select(Punch)).all()
    assert len(stored) == 10 and {p.tz for p in stored} == {"Europe/Berlin"}


def test_bad_items_are_quarantined_once_with_reason(engine, store, now):
    batch: list[RawPunch | QuarantineItem] = [
        raw_punch("", datetime(2026, 3, 2, 9, 0)),
        raw_punch("1002", datetime(2026, 3, 2, 9, 0), tz="Mars/Olympus"),
        QuarantineItem(SourceKind.TERMINAL, reason="impossible date 2026-02-31", raw="ab12"),
        raw_punch("1003", datetime(2026, 3, 2, 9, 0)),
    ]
    result = ingest_batch(engine, batch, now=now, policy=POLICY)
    again = ingest_batch(engine, batch, now=now, policy=POLICY)
    assert result.outcomes == [Outcome.QUARANTINED] * 3 + [Outcome.INSERTED]
    assert again.outcomes == [Outcome.QUARANTINED] * 3 + [Outcome.DUPLICATE]
    with store.sessions() as s:
        reasons = sorted(q.reason for q in s.scalars(select(Quarantine)))
        punch = s.scalars(select(Punch)).one()
    assert reasons == [
        "impossible date 2026-02-31",
        "missing employee code",
        "unknown timezone 'Mars/Olympus'",
    ]
    assert punch.flags & PunchFlag.UNKNOWN_EMPLOYEE
    assert punch.employee_id is None


def test_a_batch_of_terminal_and_phone_punches_keeps_every_column(engine, store, now):
    # Terminal punches go through SQLite's narrower statement, phone punches the full one.
    with store.sessions.begin() as s:
        add_employee(s, "1001", now)
    terminal = [raw_punch("1001", datetime(2026, 3, 2, 8, m)) for m in range(0, 6, 2)]
    phone = [
        raw_punch(
            "1001",
            datetime(2026, 3, 2, 8, m),
            source_kind=SourceKind.MOBILE,
            device_code="phone-1",
            lat=52.52,
            lon=13.405,
            accuracy_m=8.0,
            site_code="hq",
            distance_m=12.5,
            geo_decision="inside",
            source_ref=f"msg-{m}",
            raw='{"m": 1}',
            note="from the app",
        )
        for m in range(1, 6, 2)
    ]
    mixed = [p for pair in zip(terminal, phone, strict=True) for p in pair]
    first = ingest_batch(engine, mixed, now=now, policy=POLICY)
    assert (first.inserted, first.duplicates) == (6, 0)
    again = ingest_batch(engine, list(reversed(mixed)), now=now, policy=POLICY)
    assert (again.inserted, again.duplicates) == (0, 6)
    with store.sessions() as s:
        rows = {p.occurred_at.minute: p for p in s.scalars(select(Punch))}
    assert sorted(rows) == [0, 1, 2, 3, 4, 5]
    for minute, p in rows.items():
        assert p.employee_id is not None and p.state == "in"
        if minute % 2:
            got = (p.lat, p.lon, p.accuracy_m, p.site_code, p.distance_m, p.geo_decision)
            assert got == (52.52, 13.405, 8.0, "hq", 12.5, "inside")
            assert (p.source_ref, p.raw, p.note) == (f"msg-{minute}", '{"m": 1}', "from the app")
        else:
            assert (p.lat, p.site_code, p.source_ref, p.raw, p.note) == (None,) * 5
            assert p.device_code == "door-1" and p.source_kind == "terminal"
