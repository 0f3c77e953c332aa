"""The app's "my requests": asked through the one requests service for the phone's own
employee only, limited by the policy, idempotent per form, withdrawn only while pending."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.schemas.requests import AppRequestWrite
from collector.days import assign_policy
from collector.phoneapp.devices import BoundPhone
from collector.phoneapp.myrequests import ask
from collector.runtime import utcnow
from collector.store.models import AppDevice, AuditLog, EmployeeRequest, Leave, Policy, Punch
from collector.workforce.requests import request_event
from tests.api.conftest import Keys, auth
from tests.app_support import AppOffice, enrol, seed_app_office
from tests.rules.helpers import FLEX_DOC


@pytest.fixture
def office(store, now, keys: Keys) -> AppOffice:
    return seed_app_office(store, now)


def phone(app) -> TestClient:
    """A fresh phone (its own cookie jar)."""
    return TestClient(app, raise_server_exceptions=False)


def today() -> date:
    return utcnow().astimezone(ZoneInfo("Europe/Berlin")).date()


def missed(**kw: Any) -> dict[str, Any]:
    """A missed punch yesterday at 08:05 site time, with a fresh key."""
    return {
        "idempotency_key": str(uuid.uuid4()),
        "kind": "missed_punch",
        "timestamp": f"{today() - timedelta(days=1)}T08:05",
        "state": "in",
        "reason": "terminal was down",
        **kw,
    }


def leave(**kw: Any) -> dict[str, Any]:
    start = today() + timedelta(days=10)
    return {
        "idempotency_key": str(uuid.uuid4()),
        "kind": "leave",
        "leave_type": "annual",
        "start_date": str(start),
        "end_date": str(start + timedelta(days=2)),
        "part": "full",
        "reason": "family",
        **kw,
    }


def test_each_kind_is_asked_for_the_phones_employee(app, client, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    made = [
        ana.post("/app/requests", json=missed(state="break_out")),
        ana.post("/app/requests", json=leave(part="am", end_date=None)),
        ana.post(
            "/app/requests",
            json={
                "idempotency_key": str(uuid.uuid4()),
                "kind": "business_trip",
                "start_date": str(today() + timedelta(days=20)),
                "end_date": str(today() + timedelta(days=21)),
                "reason": "customer visit",
            },
        ),
    ]
    assert [m.status_code for m in made] == [201, 201, 201], [m.text for m in made]
    bodies = [m.json() for m in made]
    assert bodies[0]["details"] == {
        "timestamp": f"{today() - timedelta(days=1)}T08:05:00",
        "state": "break_out",
    }
    assert bodies[1]["details"]["part"] == "am" and bodies[1]["end_date"] == bodies[1]["date"]
    assert bodies[2]["details"]["leave_type"] == "business_trip"
    assert all(b["state"] == "pending" and b["cancellable"] for b in bodies)
    # Newest first; the retry key stays on the server.
    listed = ana.get("/app/requests").json()
    assert [r["id"] for r in listed] == [b["id"] for b in reversed(bodies)]
    assert all("idempotency_key" not in r["details"] for r in listed)
    # The same rows HR's API lists, for Ana, made by her phone (audited as such).
    with store.sessions() as s:
        device = s.scalar(select(AppDevice.id).where(AppDevice.employee_id == office.ids["2001"]))
        rows = s.scalars(select(EmployeeRequest)).all()
        actors = s.scalars(select(AuditLog.actor).where(AuditLog.action == "request.create")).all()
    assert {r.employee_id for r in rows} == {office.ids["2001"]}
    assert {r.created_by for r in rows} == {f"app-device:{device}"} == set(actors)
    hr = client.get(
        "/requests", params={"employee_id": office.ids["2001"]}, headers=auth(keys.manager)
    ).json()
    assert sorted(r["id"] for r in hr) == sorted(b["id"] for b in bodies)


def test_the_employee_comes_from_the_phone_never_the_body(app, keys, office, store):
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    res = bo.post("/app/requests", json=missed(employee_id=office.ids["2001"]))
    assert res.status_code == 422 and "employee_id" in res.text
    res = bo.post("/app/requests", json=missed(kind="overtime"))
    assert res.status_code == 422  # the app asks for three kinds only
    with store.sessions() as s:
        assert s.scalar(select(EmployeeRequest.id)) is None


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (missed(timestamp=None), "timestamp", "needs its time"),
        (missed(timestamp=f"{today() + timedelta(days=3)}T08:00"), "timestamp", "future"),
        (missed(state=""), "state", "direction"),
        (leave(start_date=None), "start_date", "give the day"),
        (leave(leave_type="holiday-ish"), "leave_type", "holiday-ish"),
        (leave(end_date="2020-01-01"), "end_date", ""),
        (missed(reason=" "), "reason", "reason"),
        (missed(idempotency_key="not-a-uuid"), "idempotency_key", ""),
    ],
)
def test_invalid_requests_name_the_field(app, keys, office, store, body, field, words):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    res = ana.post("/app/requests", json=body)
    assert res.status_code == 422, res.text
    problem = res.json()
    assert field in {e["field"] for e in problem.get("errors", [])} or field in problem["detail"]
    assert words in res.text
    with store.sessions() as s:
        assert s.scalar(select(EmployeeRequest.id)) is None


def test_the_policys_monthly_limit_is_enforced(app, keys, office, store):
    with store.sessions.begin() as s:
        doc = {**FLEX_DOC, "requests": {"per_month": {"missed_punch": 1}}}
        flex = Policy(name="flex", kind="flexitime", document=doc, updated_at=utcnow())
        s.add(flex)
        s.flush()
        assign_policy(
            s,
            employee_id=office.ids["2001"],
            policy_id=flex.id,
            effective_from=today() - timedelta(days=40),
            today=today(),
        )
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    first = ana.post("/app/requests", json=missed())
    assert first.status_code == 201
    second = ana.post("/app/requests", json=missed(state="out"))
    assert second.status_code == 409
    assert "at most 1 missed punch request a month: 1 already" in second.json()["detail"]
    assert bo.post("/app/requests", json=missed()).status_code == 201  # Bo has no policy
    # Withdrawn, it no longer counts.
    assert ana.post(f"/app/requests/{first.json()['id']}/cancel").status_code == 200
    assert ana.post("/app/requests", json=missed(state="out")).status_code == 201


def test_a_retry_with_the_same_key_returns_the_same_request(app, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    body = missed()
    first = ana.post("/app/requests", json=body)
    again = ana.post("/app/requests", json=body)
    upper = ana.post(
        "/app/requests", json={**body, "idempotency_key": body["idempotency_key"].upper()}
    )
    assert first.status_code == again.status_code == upper.status_code == 201
    assert first.json() == again.json() == upper.json()
    # Another employee's phone with the same key makes its own request, never sees Ana's.
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    theirs = bo.post("/app/requests", json=body)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    with store.sessions() as s:
        rows = s.scalars(select(EmployeeRequest.employee_id).order_by(EmployeeRequest.id)).all()
        audited = s.scalars(select(AuditLog.id).where(AuditLog.action == "request.create")).all()
    assert rows == [office.ids["2001"], office.ids["2002"]] and len(audited) == 2


def test_cancel_only_ones_own_pending_request(app, client, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    mine = ana.post("/app/requests", json=leave()).json()
    other = ana.post("/app/requests", json=missed()).json()
    assert bo.post(f"/app/requests/{mine['id']}/cancel").status_code == 404
    assert bo.post("/app/requests/999999/cancel").status_code == 404
    done = ana.post(f"/app/requests/{mine['id']}/cancel")
    assert done.status_code == 200 and done.json()["state"] == "cancelled"
    assert not done.json()["cancellable"]
    assert ana.post(f"/app/requests/{mine['id']}/cancel").status_code == 404  # no longer pending
    approved = client.post(f"/requests/{other['id']}/approve", headers=auth(keys.manager))
    assert approved.status_code == 200, approved.text
    assert ana.post(f"/app/requests/{other['id']}/cancel").status_code == 404
    with store.sessions() as s:
        states = dict(s.execute(select(EmployeeRequest.id, EmployeeRequest.state)).all())
        cancels = s.scalars(select(AuditLog.actor).where(AuditLog.action == "request.cancel")).all()
    assert states == {mine["id"]: "cancelled", other["id"]: "approved"}
    assert len(cancels) == 1 and cancels[0].startswith("app-device:")


def test_hr_approval_shows_in_the_app_with_the_comment(app, client, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    punch = ana.post("/app/requests", json=missed()).json()
    away = ana.post("/app/requests", json=leave()).json()
    ok = client.post(
        f"/requests/{punch['id']}/approve",
        json={"comment": "seen on camera"},
        headers=auth(keys.hr),
    )
    assert ok.status_code == 200, ok.text
    no = client.post(
        f"/requests/{away['id']}/reject", json={"comment": "busy week"}, headers=auth(keys.manager)
    )
    assert no.status_code == 200, no.text
    listed = {r["id"]: r for r in ana.get("/app/requests").json()}
    assert listed[punch["id"]]["state"] == "approved"
    assert listed[punch["id"]]["comment"] == "seen on camera"
    assert listed[punch["id"]]["decided_at"] is not None
    assert (
        listed[away["id"]]["state"] == "rejected" and listed[away["id"]]["comment"] == "busy week"
    )
    assert not any(r["cancellable"] for r in listed.values())
    # HR's API keeps the retry key with what was asked; the webhook event leaves it out.
    hr = client.get(f"/requests/{punch['id']}", headers=auth(keys.manager)).json()
    assert hr["details"]["idempotency_key"] and hr["created_by"].startswith("app-device:")
    with store.sessions() as s:
        event = request_event(s, s.get_one(EmployeeRequest, punch["id"]))
    assert event.data["details"] == punch["details"]  # timestamp and state, no key
    # Approval stored the punch through the one ingest, for Ana.
    with store.sessions() as s:
        punches = s.scalars(select(Punch.employee_code).where(Punch.source_kind == "manual")).all()
        assert s.scalar(select(Leave.id)) is None
    assert punches == ["2001"]


def test_a_revoked_phone_is_refused(app, client, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    made = ana.post("/app/requests", json=leave()).json()
    [device] = client.get(
        f"/employees/{office.ids['2001']}/app-devices", headers=auth(keys.hr)
    ).json()
    client.delete(
        f"/employees/{office.ids['2001']}/app-devices/{device['id']}", headers=auth(keys.hr)
    )
    assert ana.get("/app/requests").status_code == 401
    assert ana.post("/app/requests", json=missed()).status_code == 401
    assert ana.post(f"/app/requests/{made['id']}/cancel").status_code == 401
    with store.sessions() as s:
        assert s.scalars(select(EmployeeRequest.state)).all() == ["pending"]


def test_my_requests_page_is_the_shell_and_names_no_one(app, keys, office):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    page = ana.get("/app/my-requests")
    assert page.status_code == 200 and "Ana" not in page.text
    assert '<script src="/app/static/requests.js"' in page.text
    assert 'value="annual"' in page.text and 'value="business_trip"' not in page.text
    zh = ana.get("/app/my-requests", params={"lang": "zh"}).text
    assert "我的申请" in zh and "补卡" in zh and "年假" in zh
    for screen in ("/app", "/app/my-month"):
        assert 'href="/app/my-requests"' in ana.get(screen).text


def test_two_retries_racing_make_one_request(app, keys, office, store):
    """The second of two submissions with one key waits for the first, then returns it."""
    enrol(phone(app), keys.hr, office.ids["2001"])
    with store.sessions() as s:
        device = s.scalar(select(AppDevice.id))
    assert device is not None
    bound = BoundPhone(device, office.ids["2001"], "2001", "Ana", None, None)
    body = AppRequestWrite(**missed())
    kw = {"phone": bound, "key": body.idempotency_key, "policy": store.policy}
    got: dict[str, int] = {}

    def second() -> None:
        with store.sessions.begin() as s:
            got["id"] = ask(s, data=body.data(), now=utcnow(), **kw).id

    first = store.sessions()
    try:
        made = ask(first, data=body.data(), now=utcnow(), **kw)  # not committed yet
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # held at the employee's row until the first commits
        first.commit()
    finally:
        first.close()
    racer.join(timeout=30)
    assert got == {"id": made.id}
    with store.sessions() as s:
        assert len(s.scalars(select(EmployeeRequest.id)).all()) == 1
