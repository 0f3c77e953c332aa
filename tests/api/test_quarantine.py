"""The quarantine is listed and items are replayed through ingest once the cause is fixed."""

from __future__ import annotations

from datetime import datetime, timedelta

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
    assert dismiss(client, keys, item["id"], "already a punch").status_code == 409


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


def dismiss(client, keys, item_id, reason, token=None):
    body = {} if reason is None else {"reason": reason}
    headers = auth(token or keys.hr)
    return client.post(f"/quarantine/{item_id}/dismiss", json=body, headers=headers)


def bulk(client, keys, match, reason="flood from a broken terminal", token=None):
    body = {"reason": reason, "match": match}
    return client.post("/quarantine/dismiss", json=body, headers=auth(token or keys.hr))


def bad_line(device: str, n: int, reason: str = "bad ATTLOG line") -> QuarantineItem:
    kind = SourceKind.MOBILE if device.startswith("phone") else SourceKind.PUSH
    return QuarantineItem(kind, reason=reason, raw=f"garbage {n}", device_code=device)


def test_an_item_is_dismissed_with_a_reason_and_audited(client, keys, engine, now, store):
    ingest_batch(engine, [bad_line("push-1", 1), bad_line("push-1", 2)], now=now, policy=POLICY)
    first, second = items(client, keys)
    assert dismiss(client, keys, first["id"], None).status_code == 422
    assert dismiss(client, keys, first["id"], "no").status_code == 422
    blank = dismiss(client, keys, first["id"], "     ")
    assert blank.status_code == 422 and "reason" in blank.text
    done = dismiss(client, keys, first["id"], "  test input from the installer ")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["note"]) == (
        "dismissed",
        "test input from the installer",
    )
    assert [i["id"] for i in items(client, keys)] == [second["id"]]
    [shown] = items(client, keys, "dismissed")
    assert (shown["id"], shown["note"], shown["resolved_at"]) == (
        first["id"],
        "test input from the installer",
        done.json()["resolved_at"],
    )
    with store.sessions() as s:
        [entry] = s.scalars(select(AuditLog).where(AuditLog.action == "quarantine.dismiss"))
    assert (entry.entity, entry.entity_id, entry.reason, entry.actor.split(":")[::2]) == (
        "quarantine",
        str(first["id"]),
        "test input from the installer",
        ["apikey", "hr"],
    )
    # Once set aside it is neither dismissed again nor replayed; an unknown id is 404.
    assert dismiss(client, keys, first["id"], "again please").status_code == 409
    assert reprocess(client, keys, first["id"]).status_code == 409
    assert dismiss(client, keys, 10**9, "nothing there").status_code == 404


def test_counts_by_reason_and_by_source(client, keys, engine, now):
    batch = [bad_line("push-1", n) for n in range(3)]
    batch += [bad_line("push-2", 9), bad_line("phone-7", 1, reason="not JSON")]
    ingest_batch(engine, batch, now=now, policy=POLICY)
    answer = client.get("/quarantine/counts", headers=auth(keys.hr))
    assert answer.status_code == 200, answer.text
    counted = answer.json()
    assert counted["total"] == 5
    assert counted["last_id"] == max(i["id"] for i in items(client, keys))
    assert counted["by_reason"] == [
        {"reason": "bad ATTLOG line", "count": 4},
        {"reason": "not JSON", "count": 1},
    ]
    assert counted["by_source"] == [
        {"source_kind": "push", "device_code": "push-1", "count": 3},
        {"source_kind": "mobile", "device_code": "phone-7", "count": 1},
        {"source_kind": "push", "device_code": "push-2", "count": 1},
    ]
    one = client.get("/quarantine/counts?device_code=push-2", headers=auth(keys.hr)).json()
    assert (one["total"], one["by_reason"]) == (1, [{"reason": "bad ATTLOG line", "count": 1}])
    gone = client.get("/quarantine/counts?status=dismissed", headers=auth(keys.hr)).json()
    assert (gone["total"], gone["by_reason"], gone["by_source"]) == (0, [], [])


def test_bulk_dismissal_takes_what_the_filter_matches_and_is_audited(
    client, keys, engine, now, store
):
    earlier = now - timedelta(days=2)
    ingest_batch(engine, [bad_line("push-1", n) for n in range(3)], now=earlier, policy=POLICY)
    ingest_batch(engine, [bad_line("push-1", n) for n in range(3, 5)], now=now, policy=POLICY)
    ingest_batch(
        engine, [bad_line("push-2", 1), bad_line("phone-7", 1, "not JSON")], now=now, policy=POLICY
    )
    # Dismissing everything needs a filter that says what HR looked at.
    refused = bulk(client, keys, {})
    assert refused.status_code == 422 and "filter" in refused.text
    assert bulk(client, keys, {"device_code": "push-1"}, reason="x").status_code == 422
    naive = bulk(client, keys, {"since": "2026-11-20T00:00:00"})
    assert naive.status_code == 422
    # The time range: only push-1's three older lines.
    span = {"device_code": "push-1", "until": (now - timedelta(days=1)).isoformat()}
    done = bulk(client, keys, span)
    assert done.status_code == 200, done.text
    assert done.json() == {"dismissed": 3}
    left = items(client, keys)
    assert sorted(i["device_code"] for i in left) == ["phone-7", "push-1", "push-1", "push-2"]
    # By reason and source kind: the push lines left, not the phone's.
    done = bulk(client, keys, {"reason": "bad ATTLOG line", "source_kind": "push"})
    assert done.json() == {"dismissed": 3}
    assert [i["device_code"] for i in items(client, keys)] == ["phone-7"]
    assert len(items(client, keys, "dismissed")) == 6
    with store.sessions() as s:
        entries = list(
            s.scalars(select(AuditLog).where(AuditLog.action == "quarantine.dismiss_matching"))
        )
    assert [(e.details["count"], e.reason) for e in entries] == [
        (3, "flood from a broken terminal"),
        (3, "flood from a broken terminal"),
    ]
    assert entries[0].details["filter"]["device_code"] == "push-1"
    assert entries[0].details["filter"]["status"] == "open"
    assert entries[1].details["filter"]["reason"] == "bad ATTLOG line"


def test_bulk_dismissal_stops_at_the_items_a_count_showed(client, keys, engine, now):
    ingest_batch(engine, [bad_line("push-1", n) for n in range(2)], now=now, policy=POLICY)
    shown = client.get("/quarantine/counts?device_code=push-1", headers=auth(keys.hr)).json()
    assert shown["total"] == 2
    # More of the same arrives while HR reads the count.
    ingest_batch(engine, [bad_line("push-1", 7)], now=now, policy=POLICY)
    done = bulk(client, keys, {"device_code": "push-1", "through_id": shown["last_id"]})
    assert done.json() == {"dismissed": 2}
    [late] = items(client, keys)
    assert late["id"] > shown["last_id"]


def test_list_filters_by_reason_device_and_time(client, keys, engine, now):
    ingest_batch(engine, [bad_line("push-1", 1)], now=now - timedelta(hours=3), policy=POLICY)
    ingest_batch(engine, [bad_line("push-2", 1, "not JSON")], now=now, policy=POLICY)
    hr = auth(keys.hr)

    def codes(query: str) -> list[str]:
        answer = client.get(f"/quarantine?{query}", headers=hr)
        assert answer.status_code == 200, answer.text
        return [i["device_code"] for i in answer.json()]

    assert codes("reason=not%20JSON") == ["push-2"]
    assert codes("device_code=push-1") == ["push-1"]
    since = (now - timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert codes(f"since={since}") == ["push-2"]
    assert codes(f"until={since}") == ["push-1"]
    assert client.get("/quarantine?since=2026-11-27T09:00:00", headers=hr).status_code == 422


@pytest.mark.parametrize("token_name", ["scoped_hr", "viewer"])
def test_housekeeping_needs_an_unscoped_hr_key(client, keys, engine, now, token_name):
    ingest_batch(engine, [bad_line("push-1", 1)], now=now, policy=POLICY)
    [item] = items(client, keys)
    token = getattr(keys, token_name)
    assert client.get("/quarantine/counts", headers=auth(token)).status_code == 403
    assert dismiss(client, keys, item["id"], "not mine to see", token=token).status_code == 403
    assert bulk(client, keys, {"device_code": "push-1"}, token=token).status_code == 403
    assert [i["id"] for i in items(client, keys)] == [item["id"]]
