"""Corrections are manual punches through the one ingest path, audited, never edits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from collector.normalize import NormalizePolicy
from collector.store.ingest import ingest_batch
from collector.store.models import AuditLog, DirtyDay, Employee, Punch, Site
from tests.api.conftest import api_routes_of, auth
from tests.factories import raw_punch


@pytest.fixture
def people(store, engine, now, keys):
    """An OPS employee at a Berlin site with one terminal punch, and an unscoped one."""
    with store.sessions.begin() as s:
        site = Site(code="BER", name="Berlin", timezone="Europe/Berlin", fence={})
        s.add(site)
        s.flush()
        ops = Employee(
            code="7", name="Ops", department_id=keys.department_id, site_id=site.id, created_at=now
        )
        other = Employee(code="8", name="Other", created_at=now)
        s.add_all([ops, other])
    ingest_batch(
        engine,
        [raw_punch("7", datetime(2026, 3, 2, 9, 0), tz="Europe/Berlin")],
        now=now,
        policy=NormalizePolicy(),
    )
    with store.sessions.begin() as s:
        s.query(DirtyDay).delete()  # start from a clean slate to see what corrections mark
        punch = s.scalars(select(Punch)).one()
        return {"ops": ops.id, "other": other.id, "punch": punch.id}


def add(client, token, **body):
    body.setdefault("state", "out")
    body.setdefault("timestamp", "2026-03-02T17:30:00")
    body.setdefault("reason", "forgot to punch out")
    return client.post("/corrections/add", json=body, headers=auth(token))


def test_adding_a_punch_stores_a_manual_punch_and_an_audit_entry(client, keys, people, store):
    answer = add(client, keys.hr, employee_id=people["ops"], idempotency_key="client-key-1")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    # A naive time is the site's local time: 17:30 CET is 16:30 UTC.
    assert (body["source_kind"], body["state"], body["verify"]) == ("manual", "out", "manual")
    assert body["occurred_at"] == "2026-03-02T16:30:00Z"
    assert body["note"] == "forgot to punch out"
    with store.sessions() as s:
        entry = s.scalars(select(AuditLog)).one()
        dirty = s.execute(select(DirtyDay.employee_id, DirtyDay.local_date)).all()
    assert (entry.actor, entry.action, entry.entity, entry.entity_id, entry.reason) == (
        "apikey:2:hr",
        "punch.add",
        "punch",
        str(body["id"]),
        "forgot to punch out",
    )
    assert entry.details["occurred_at"] == "2026-03-02T16:30:00+00:00"
    assert dirty == [(people["ops"], date(2026, 3, 2))]
    # The same request again (a client retry) changes nothing.
    again = add(client, keys.hr, employee_id=people["ops"], idempotency_key="client-key-1")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    with store.sessions() as s:
        assert len(s.scalars(select(AuditLog)).all()) == 1
        assert len(s.scalars(select(Punch)).all()) == 2


def test_voiding_adds_a_void_punch_and_leaves_the_original(client, keys, people, store):
    answer = client.post(
        "/corrections/void",
        json={"punch_id": people["punch"], "reason": "badge used by a colleague"},
        headers=auth(keys.hr),
    )
    assert answer.status_code == 201, answer.text
    void = answer.json()
    assert (void["state"], void["voids_punch_id"], void["source_kind"]) == (
        "void",
        people["punch"],
        "manual",
    )
    with store.sessions() as s:
        original = s.get(Punch, people["punch"])
        entry = s.scalars(select(AuditLog)).one()
        assert s.scalar(select(DirtyDay.local_date)) == date(2026, 3, 2)
    assert (original.state, original.note, original.voids_punch_id) == ("in", None, None)
    assert (entry.action, entry.reason, entry.details["voids_punch_id"]) == (
        "punch.void",
        "badge used by a colleague",
        people["punch"],
    )
    twice = client.post(
        "/corrections/void",
        json={"punch_id": people["punch"], "reason": "again"},
        headers=auth(keys.hr),
    )
    assert twice.status_code == 409
    void_of_void = client.post(
        "/corrections/void",
        json={"punch_id": void["id"], "reason": "undo"},
        headers=auth(keys.hr),
    )
    assert void_of_void.status_code == 409
    # The day's report lists both, the original marked voided.
    day = client.get(
        f"/reports/employee-day?employee_id={people['ops']}&date=2026-03-02",
        headers=auth(keys.viewer),
    ).json()
    assert [(p["state"], p["voided"]) for p in day["punches"]] == [("in", True), ("void", False)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": None}, "reason"),
        ({"state": "void"}, "state"),
        ({"employee_id": 999}, "employee_id"),
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_bad_corrections_are_refused_with_the_field(client, keys, people, store, body, field):
    full = {
        "employee_id": people["ops"],
        "state": "in",
        "timestamp": "2026-03-02T08:00:00",
        "reason": "forgot",
        **body,
    }
    if full["reason"] is None:
        del full["reason"]  # missing altogether
    answer = client.post("/corrections/add", json=full, headers=auth(keys.hr))
    assert answer.status_code in (404, 422)
    assert field in [e["field"] for e in answer.json()["errors"]]
    with store.sessions() as s:
        assert s.scalars(select(AuditLog)).all() == []


def test_a_correction_in_the_future_is_refused_and_leaves_nothing(client, keys, people, store):
    answer = add(client, keys.hr, employee_id=people["ops"], timestamp="2099-01-01T09:00:00Z")
    assert answer.status_code == 422
    with store.sessions() as s:
        assert len(s.scalars(select(Punch)).all()) == 1
        assert s.scalars(select(AuditLog)).all() == []


def test_scoped_hr_cannot_correct_another_department(client, keys, people):
    assert add(client, keys.scoped_hr, employee_id=people["other"]).status_code == 404
    assert add(client, keys.scoped_hr, employee_id=people["ops"]).status_code == 201
    assert add(client, keys.viewer, employee_id=people["ops"]).status_code == 403


def test_audit_log_is_readable_and_append_only(client, keys, people, app):
    add(client, keys.hr, employee_id=people["ops"])
    listed = client.get("/audit?entity=punch", headers=auth(keys.hr)).json()
    assert [e["action"] for e in listed] == ["punch.add"]
    writes = [
        (m, r.path)
        for r in api_routes_of(app)
        if r.path.startswith("/audit")
        for m in r.methods or ()
        if m != "GET"
    ]
    assert writes == []
    assert client.delete("/audit", headers=auth(keys.admin)).status_code == 405


def test_manual_punch_time_with_offset_is_taken_as_is(client, keys, people):
    body = add(
        client, keys.hr, employee_id=people["ops"], timestamp="2026-03-02T17:30:00+00:00"
    ).json()
    assert datetime.fromisoformat(body["occurred_at"]) == datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
