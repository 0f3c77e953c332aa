"""Master data through the API: CRUD, soft delete, linking punches, CSV upsert, scoping."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.app import create_app
from collector.normalize import NormalizePolicy
from collector.runtime import Store
from collector.store.ingest import ingest_batch
from collector.store.models import Device, DirtyDay, Punch
from rules.vocabulary import PunchFlag
from tests.api.conftest import auth
from tests.factories import raw_punch


def test_departments_and_sites_crud(admin):
    dept = admin.post("/departments", json={"code": "ENG", "name": "Engineering"}).json()
    assert admin.post("/departments", json={"code": "ENG", "name": "Again"}).status_code == 409
    renamed = admin.patch(f"/departments/{dept['id']}", json={"name": "R&D"}).json()
    assert (renamed["code"], renamed["name"]) == ("ENG", "R&D")
    site = admin.post(
        "/sites",
        json={
            "code": "BER",
            "name": "Berlin",
            "timezone": "Europe/Berlin",
            "lat": 52.52,
            "lon": 13.40,
            "radius_m": 150,
            "fence": {"max_accuracy_m": 50},
        },
    )
    assert site.status_code == 201
    bad_zone = admin.post("/sites", json={"code": "X", "name": "X", "timezone": "Mars/Base"})
    assert bad_zone.status_code == 422 and bad_zone.json()["errors"][0]["field"] == "timezone"
    admin.post("/employees", json={"code": "1", "department": "ENG", "site": "BER"})
    assert admin.delete(f"/departments/{dept['id']}").status_code == 409  # still used
    assert admin.get("/departments/424242").status_code == 404


def test_device_comm_key_is_write_only(admin, store):
    made = admin.post(
        "/devices",
        json={"code": "door-1", "host": "127.0.0.1", "port": 4370, "comm_key": "s3cret-123"},
    )
    assert made.status_code == 201
    body = made.json()
    assert body["has_comm_key"] is True
    assert "s3cret-123" not in made.text
    listed = admin.get("/devices")
    assert "s3cret-123" not in listed.text and "comm_key_secret" not in listed.text
    with store.sessions() as s:
        assert store.box.open(s.scalar(select(Device.comm_key_secret))) == "s3cret-123"
    cleared = admin.patch(f"/devices/{body['id']}", json={"comm_key": None}).json()
    assert cleared["has_comm_key"] is False
    assert cleared["status"] == "unknown" and cleared["timezone"] == "UTC"


def test_new_employee_links_earlier_punches_and_delete_keeps_them(admin, engine, now, store):
    ingest_batch(
        engine, [raw_punch("5005", datetime(2026, 3, 2, 9, 0))], now=now, policy=NormalizePolicy()
    )
    emp = admin.post("/employees", json={"code": "5005", "name": "Late Joiner"}).json()
    with store.sessions() as s:
        punch = s.scalars(select(Punch)).one()
        assert punch.employee_id == emp["id"]
        assert not punch.flags & PunchFlag.UNKNOWN_EMPLOYEE
        assert s.execute(select(DirtyDay.employee_id, DirtyDay.local_date)).all() == [
            (emp["id"], date(2026, 3, 2))
        ]
    gone = admin.delete(f"/employees/{emp['id']}")
    assert gone.status_code == 200 and gone.json()["deleted_at"] is not None
    assert admin.get("/employees").json() == []
    assert [e["code"] for e in admin.get("/employees?include_deleted=true").json()] == ["5005"]
    with store.sessions() as s:
        assert s.scalars(select(Punch)).one().employee_id == emp["id"]
    assert admin.delete(f"/employees/{emp['id']}").status_code == 409


def test_employee_csv_upsert_is_all_or_nothing(admin):
    admin.post("/departments", json={"code": "ENG", "name": "Engineering"})
    admin.post("/employees", json={"code": "1", "name": "Old name"})
    good = (
        "code,name,department,active_from,identity:owntracks\n1,Ann,ENG,2026-01-01,ann\n2,Ben,,,\n"
    )
    answer = admin.post("/employees/import", files={"file": ("e.csv", good, "text/csv")})
    assert answer.json() == {"created": 1, "updated": 1}
    listed = {e["code"]: e for e in admin.get("/employees").json()}
    assert (listed["1"]["name"], listed["1"]["department"], listed["1"]["identities"]) == (
        "Ann",
        "ENG",
        {"owntracks": "ann"},
    )
    bad = "code,name,department,active_from\n3,Cy,NOPE,\n4,Di,,31.12.2026\n5,Ed,,\n"
    refused = admin.post("/employees/import", files={"file": ("e.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [
        (2, "department"),
        (3, "active_from"),
    ]
    assert sorted(admin.get("/employees").json()[i]["code"] for i in range(2)) == ["1", "2"]
    assert len(admin.get("/employees").json()) == 2  # row 5 was valid but nothing changed


def test_scoped_keys_see_only_their_department(client, keys, admin):
    admin.post("/departments", json={"code": "ENG", "name": "Engineering"})
    admin.post("/employees", json={"code": "1", "department": "OPS"})
    other = admin.post("/employees", json={"code": "2", "department": "ENG"}).json()
    seen = client.get("/employees", headers=auth(keys.scoped_hr)).json()
    assert [e["code"] for e in seen] == ["1"]
    hidden = client.get(f"/employees/{other['id']}", headers=auth(keys.scoped_hr))
    assert hidden.status_code == 404


FLEX: dict[str, Any] = {
    "target_min": 480,
    "flex": {
        "earliest_start": "07:00",
        "latest_start": "10:00",
        "earliest_end": "16:00",
        "latest_end": "20:00",
    },
}


def test_policy_and_assignments_mark_affected_days(admin, engine, now, store):
    emp = admin.post("/employees", json={"code": "9"}).json()
    ingest_batch(
        engine,
        [raw_punch("9", datetime(2026, 3, d, 9, 0)) for d in (2, 3, 20)],
        now=now,
        policy=NormalizePolicy(),
    )
    with store.sessions.begin() as s:
        s.query(DirtyDay).delete()
    refused = admin.post(
        "/policies",
        json={"name": "flex", "kind": "flexitime", "document": {"core": ["10:00", "15:00"]}},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "document"
    assert "core" in refused.json()["detail"]
    policy = admin.post(
        "/policies", json={"name": "flex", "kind": "flexitime", "document": FLEX}
    ).json()
    assigned = admin.post(
        f"/employees/{emp['id']}/assignments",
        json={
            "policy_id": policy["id"],
            "effective_from": "2026-03-03",
            "effective_to": "2026-03-19",
        },
    )
    assert assigned.status_code == 201
    with store.sessions() as s:
        days = sorted(d for (d,) in s.execute(select(DirtyDay.local_date)))
    assert days == [date(2026, 3, 3)]  # only punched days inside the range
    backwards = admin.post(
        f"/employees/{emp['id']}/assignments",
        json={
            "policy_id": policy["id"],
            "effective_from": "2026-04-03",
            "effective_to": "2026-04-01",
        },
    )
    assert backwards.status_code == 422
    admin.patch(f"/assignments/{assigned.json()['id']}", json={"effective_to": None})
    with store.sessions() as s:
        days = sorted(d for (d,) in s.execute(select(DirtyDay.local_date)))
    assert days == [date(2026, 3, 3), date(2026, 3, 20)]
    assert admin.delete(f"/policies/{policy['id']}").status_code == 409  # still assigned
    shorter = {**FLEX, "target_min": 420}
    changed = admin.patch(f"/policies/{policy['id']}", json={"document": shorter})
    assert changed.json()["document"] == shorter
    impossible = {**FLEX, "flex": {**FLEX["flex"], "latest_start": "06:00"}}
    assert (
        admin.patch(f"/policies/{policy['id']}", json={"document": impossible}).status_code == 422
    )


def test_api_keys_created_once_and_revoked(client, admin, keys):
    made = admin.post("/api-keys", json={"name": "report bot", "role": "viewer"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert client.get("/reports/devices", headers=auth(token)).status_code == 200
    listed = admin.get("/api-keys").text
    assert token not in listed and token.split("_", 2)[2] not in listed
    assert admin.post(f"/api-keys/{made.json()['id']}/revoke").status_code == 200
    assert client.get("/reports/devices", headers=auth(token)).status_code == 401
    assert admin.post("/api-keys", json={"name": "x", "role": "root"}).status_code == 422


def test_comm_key_without_a_usable_secret_key_is_a_clear_503(store, keys, settings):
    # PostgreSQL without PUNCHGATE_SECRET_KEY (on SQLite a key file is made beside the
    # database, so there a malformed key stands in): found as a bare 500 before.
    postgres = store.engine.dialect.name == "postgresql"
    unsealable = settings.model_copy(
        update={"secret_key": None if postgres else SecretStr("not-a-fernet-key")}
    )
    app = create_app(unsealable, Store(unsealable, store.engine, store.sessions))
    client = TestClient(app, raise_server_exceptions=False)
    client.headers.update(auth(keys.admin))
    answer = client.post(
        "/devices",
        json={"code": "door-9", "host": "127.0.0.1", "port": 4370, "comm_key": "s3cret-123"},
    )
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    expected = "PUNCHGATE_SECRET_KEY is not set" if postgres else "not a Fernet key"
    assert expected in answer.json()["detail"]
    assert "s3cret-123" not in answer.text
    assert client.get("/devices").json() == []  # nothing half-written
