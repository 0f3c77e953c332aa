"""The quarantine is listed and items are replayed through ingest once the cause is fixed."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from collector.importing import ImportOptions, import_file
from collector.normalize import NormalizePolicy, RawPunch
from collector.quarantine import replay as quarantine_service
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import AuditLog, Punch, Quarantine
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.factories import raw_punch

POLICY = NormalizePolicy()


def items(client, keys, status="open"):
    return client.get(f"/quarantine?status={status}", headers=auth(keys.hr)).json()


def reprocess(client, keys, item_id, body=None):
    return client.post(f"/quarantine/{item_id}/reprocess", json=body, headers=auth(keys.hr))


def test_misconfigured_device_zone_is_replayed_after_the_device_is_fixed(
    client, keys, engine, now, store
):
    bad = raw_punch("1001", datetime(2026, 3, 2, 9, 0), device_code="door-9", tz="Mars/Olympus")
    assert ingest_batch(engine, [bad], now=now, policy=POLICY).quarantined == 1
    [item] = items(client, keys)
    assert (item["reason"], item["replayable"], item["device_code"]) == (
        "unknown timezone 'Mars/Olympus'",
        True,
        "door-9",
    )
    still = reprocess(client, keys, item["id"])
    assert still.status_code == 409
    assert "unknown timezone" in still.json()["detail"]
    # The cause is fixed: the device is declared with its real zone.
    made = client.post(
        "/devices",
        json={"code": "door-9", "timezone": "Europe/Berlin"},
        headers=auth(keys.admin),
    )
    assert made.status_code == 201
    done = reprocess(client, keys, item["id"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "reprocessed"
    with store.sessions() as s:
        punch = s.get(Punch, done.json()["punch_id"])
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "quarantine")).one()
    assert (punch.employee_code, punch.tz, punch.occurred_at.hour) == ("1001", "Europe/Berlin", 8)
    assert entry.details["punch_id"] == punch.id
    assert items(client, keys) == []
    assert [i["id"] for i in items(client, keys, "reprocessed")] == [item["id"]]
    assert reprocess(client, keys, item["id"]).status_code == 409  # only once


def test_a_field_supplied_by_hr_is_used_for_the_replay(client, keys, engine, now):
    bad = raw_punch("1001", datetime(2026, 3, 2, 9, 0), state="sideways")
    ingest_batch(engine, [bad], now=now, policy=POLICY)
    [item] = items(client, keys)
    assert item["reason"] == "unknown state 'sideways'"
    refused = reprocess(client, keys, item["id"], {"colour": "red"})
    assert refused.status_code == 422
    done = reprocess(client, keys, item["id"], {"state": "out"})
    assert done.status_code == 200, done.text
    page = client.get("/punches", headers=auth(keys.hr)).json()["items"]
    assert [(p["id"], p["state"]) for p in page] == [(done.json()["punch_id"], "out")]


def test_parser_refused_input_needs_a_registered_reparser(client, keys, engine, now, monkeypatch):
    odd = QuarantineItem(
        SourceKind.PUSH,
        reason="bad ATTLOG line",
        raw="1001\t2026-03-02 09:00:00",
        device_code="push-1",
        reference="sn1:42",
    )
    ingest_batch(engine, [odd], now=now, policy=POLICY)
    [item] = items(client, keys)
    assert item["replayable"] is False
    refused = reprocess(client, keys, item["id"])
    assert refused.status_code == 409
    assert "no re-parser is registered" in refused.json()["detail"]

    def reparse(q: Quarantine) -> RawPunch:
        code, stamp = q.raw.split("\t")
        return RawPunch(
            code,
            datetime.fromisoformat(stamp),
            SourceKind.PUSH,
            tz="UTC",
            device_code=q.device_code,
            raw=q.raw,
        )

    monkeypatch.setattr(quarantine_service, "_REPARSERS", {})
    quarantine_service.register_reparser(SourceKind.PUSH, reparse)
    done = reprocess(client, keys, item["id"])
    assert done.status_code == 200, done.text
    assert done.json()["punch_id"] is not None


def test_an_import_line_is_resolved_by_importing_the_fixed_file(
    client, keys, engine, now, tmp_path
):
    path = tmp_path / "history.csv"
    path.write_text("employee_code,timestamp\n1001,2026-03-02 09:00\n1002,2026-03-0x 09:00\n")
    options = ImportOptions(timezone="UTC")
    assert import_file(engine, path, options=options, now=now, policy=POLICY).quarantined == 1
    [item] = items(client, keys)
    assert item["reference"] == "history.csv:3"
    refused = reprocess(client, keys, item["id"])
    assert refused.status_code == 409
    assert "import it again" in refused.json()["detail"]
    path.write_text("employee_code,timestamp\n1001,2026-03-02 09:00\n1002,2026-03-02 09:05\n")
    assert import_file(engine, path, options=options, now=now, policy=POLICY).inserted == 1
    done = reprocess(client, keys, item["id"])
    assert done.status_code == 200, done.text
    punches = client.get("/punches?employee_code=1002", headers=auth(keys.hr)).json()["items"]
    assert [p["id"] for p in punches] == [done.json()["punch_id"]]


@pytest.mark.parametrize("token_name", ["scoped_hr", "viewer"])
def test_quarantine_needs_an_unscoped_hr_key(client, keys, token_name):
    answer = client.get("/quarantine", headers=auth(getattr(keys, token_name)))
    assert answer.status_code == 403
