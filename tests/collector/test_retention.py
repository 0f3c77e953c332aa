"""Old phone coordinates give way to the decision; the punch itself stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector import quarantine
from collector.normalize import NormalizePolicy, RawPunch
from collector.retention import (
    REDACTED,
    RetentionWorker,
    distance_band,
    purge_dismissed,
    purge_outbox,
    scrub_locations,
)
from collector.settings import Settings
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import OutboundTarget, OutboxAttempt, OutboxMessage, Punch, Quarantine
from rules.vocabulary import SourceKind
from tests.helpers import run_cli, wait_for


def phone_punch(ref: str, when: datetime, distance: float) -> RawPunch:
    return RawPunch(
        employee_code="1001",
        timestamp=when,
        source_kind=SourceKind.MOBILE,
        tz="Europe/Berlin",
        lat=52.52,
        lon=13.405,
        accuracy_m=12.0,
        site_code="hq",
        distance_m=distance,
        geo_decision="inside",
        source_ref=ref,
        raw='{"lat": 52.52, "lon": 13.405}',
    )


def test_old_coordinates_are_replaced_by_band_and_newer_kept(engine, store, now):
    old = now - timedelta(days=91)
    recent = now - timedelta(days=89)
    batch = [
        phone_punch("a", old, 42.0),
        phone_punch("b", old, 310.0),
        phone_punch("c", recent, 42.0),
    ]
    ingest_batch(engine, batch, now=old, policy=NormalizePolicy())
    ingest_batch(
        engine,
        [QuarantineItem(SourceKind.MOBILE, reason="not JSON", raw="lat=52.52,lon=13.4")],
        now=old,
        policy=NormalizePolicy(),
    )
    result = scrub_locations(engine, now=now, days=90)
    assert (result.punches, result.quarantined) == (2, 1)
    with store.sessions() as s:
        punches = {p.source_ref: p for p in s.scalars(select(Punch))}
        q = s.scalars(select(Quarantine)).one()
    for ref, band in (("a", "0-50 m"), ("b", "150-500 m")):
        p = punches[ref]
        assert (p.lat, p.lon, p.accuracy_m, p.distance_m, p.raw) == (None,) * 5
        assert (p.site_code, p.geo_decision, p.distance_band) == ("hq", "inside", band)
        assert p.occurred_at == old.astimezone(UTC)
    assert punches["c"].lat == 52.52 and punches["c"].raw is not None
    assert q.raw == REDACTED and q.reason == "not JSON"
    assert scrub_locations(engine, now=now, days=90) == type(result)(0, 0)


def test_distance_bands():
    assert [distance_band(d) for d in (None, 0, 50, 50.1, 150, 499, 2000, 2001)] == [
        None,
        "0-50 m",
        "0-50 m",
        "50-150 m",
        "50-150 m",
        "150-500 m",
        "500-2000 m",
        "over 2000 m",
    ]


def _old_and_new(engine, now):
    batch = [
        phone_punch("old", now - timedelta(days=120), 40.0),
        phone_punch("new", now - timedelta(days=1), 40.0),
    ]
    assert ingest_batch(engine, batch, now=now, policy=NormalizePolicy()).inserted == 2


def _coordinates(engine) -> dict[str | None, float | None]:
    with Session(engine) as s:
        return {p.source_ref: p.lat for p in s.scalars(select(Punch))}


def test_the_service_worker_scrubs_at_start(engine, now):
    _old_and_new(engine, now)
    worker = RetentionWorker(engine, days=90, clock=lambda: now)
    worker.start()
    try:
        assert wait_for(lambda: _coordinates(engine)["old"] is None)
    finally:
        worker.stop()
    assert _coordinates(engine)["new"] == 52.52


def test_retention_run_command(engine, db_url):
    now = datetime.now(UTC)
    _old_and_new(engine, now)
    done = run_cli("retention", "run", env={"PUNCHGATE_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    assert "coordinates removed from 1 punches" in done.stdout + done.stderr
    assert _coordinates(engine) == {"old": None, "new": 52.52}


def _quarantine_aged(engine, now: datetime) -> dict[str, int]:
    """Five items by name: dismissed 91 and 89 days ago, 31 days ago, open and old, reprocessed."""
    names = ("dismissed-91", "dismissed-89", "dismissed-31", "open-old", "reprocessed-old")
    batch = [QuarantineItem(SourceKind.PUSH, reason="bad line", raw=n) for n in names]
    ingest_batch(engine, batch, now=now - timedelta(days=200), policy=NormalizePolicy())
    with Session(engine) as s, s.begin():
        ids = {q.raw: q.id for q in s.scalars(select(Quarantine))}
        for name, days in (("dismissed-91", 91), ("dismissed-89", 89), ("dismissed-31", 31)):
            quarantine.dismiss(
                s,
                item_id=ids[name],
                reason="flood",
                actor="test",
                now=now - timedelta(days=days),
            )
        done = s.get(Quarantine, ids["reprocessed-old"])
        assert done is not None
        done.status, done.resolved_at = "reprocessed", now - timedelta(days=150)
    return ids


def _left(engine) -> set[str]:
    with Session(engine) as s:
        return set(s.scalars(select(Quarantine.raw)))


def test_dismissed_items_older_than_their_retention_are_deleted(engine, now):
    _quarantine_aged(engine, now)
    assert purge_dismissed(engine, now=now, days=90) == 1
    assert _left(engine) == {"dismissed-89", "dismissed-31", "open-old", "reprocessed-old"}
    assert purge_dismissed(engine, now=now, days=90) == 0
    assert purge_dismissed(engine, now=now, days=30) == 2
    assert _left(engine) == {"open-old", "reprocessed-old"}  # never deleted here


def test_the_service_worker_deletes_old_dismissed_items(engine, now):
    _quarantine_aged(engine, now)
    worker = RetentionWorker(engine, days=90, dismissed_days=60, clock=lambda: now)
    worker.start()
    try:
        assert wait_for(lambda: "dismissed-89" not in _left(engine))
    finally:
        worker.stop()
    assert _left(engine) == {"dismissed-31", "open-old", "reprocessed-old"}


def test_retention_run_reads_the_dismissed_retention_setting(engine, db_url):
    _quarantine_aged(engine, datetime.now(UTC))
    env = {"PUNCHGATE_DATABASE_URL": db_url, "PUNCHGATE_QUARANTINE_DISMISSED_RETENTION_DAYS": "30"}
    done = run_cli("retention", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert "3 dismissed quarantine items deleted" in done.stdout + done.stderr
    assert _left(engine) == {"open-old", "reprocessed-old"}


def test_the_dismissed_retention_defaults_to_90_days_and_must_be_positive(monkeypatch):
    monkeypatch.delenv("PUNCHGATE_QUARANTINE_DISMISSED_RETENTION_DAYS", raising=False)
    assert Settings().quarantine_dismissed_retention_days == 90
    monkeypatch.setenv("PUNCHGATE_QUARANTINE_DISMISSED_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError):
        Settings()


def _outbox_aged(engine, now: datetime) -> None:
    """Outbox messages by subject: delivered 31 and 29 days ago; skipped, failed, ... 40."""
    old = now - timedelta(days=40)
    rows = (
        ("delivered-31", "delivered", now - timedelta(days=31)),
        ("delivered-29", "delivered", now - timedelta(days=29)),
        ("skipped-40", "skipped", None),
        ("failed-40", "failed", None),
        ("rejected-40", "rejected", None),
        ("pending-40", "pending", None),
    )
    with Session(engine) as s, s.begin():
        target = OutboundTarget(
            name="hook", kind="webhook", url="http://127.0.0.1:9/", created_at=old
        )
        s.add(target)
        s.flush()
        for subject, status, delivered_at in rows:
            msg = OutboxMessage(
                msg_id=f"msg_{subject}",
                target_id=target.id,
                event_type="punch.created",
                payload="{}",
                subject=subject,
                status=status,
                attempts=1,
                next_attempt_at=old,
                created_at=old,
                delivered_at=delivered_at,
            )
            s.add(msg)
            s.flush()
            s.add(OutboxAttempt(message_id=msg.id, at=old, code=200, outcome="delivered"))


def _outbox_left(engine) -> set[str]:
    with Session(engine) as s:
        return set(s.scalars(select(OutboxMessage.subject)))


def test_delivered_and_skipped_outbox_messages_go_after_their_retention(engine, now):
    _outbox_aged(engine, now)
    assert purge_outbox(engine, now=now, days=30) == 2
    kept = {"delivered-29", "failed-40", "rejected-40", "pending-40"}
    assert _outbox_left(engine) == kept  # what HR must still act on is never deleted
    with Session(engine) as s:
        logged = set(s.scalars(select(OutboxAttempt.message_id)))
        assert logged == set(s.scalars(select(OutboxMessage.id)))  # their log went with them
    assert purge_outbox(engine, now=now, days=30) == 0


def test_retention_run_reads_the_outbox_retention_setting(engine, db_url):
    _outbox_aged(engine, datetime.now(UTC))
    env = {"PUNCHGATE_DATABASE_URL": db_url, "PUNCHGATE_OUTBOX_RETENTION_DAYS": "10"}
    done = run_cli("retention", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert "3 delivered outbox messages deleted" in done.stdout + done.stderr
    assert _outbox_left(engine) == {"failed-40", "rejected-40", "pending-40"}
