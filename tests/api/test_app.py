"""The punch app's API: enrolment once and briefly, revocation at once, punches through the
phone ingest with receipts, the server's preview, and only one's own data."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.phone.device import COOKIE
from api.ui.i18n import APP_LABELS
from collector.days import assign_policy, process_dirty
from collector.phoneapp import devices
from collector.phoneapp.punching import Outcome
from collector.reports.common import minutes
from collector.runtime import utcnow
from collector.store.models import AppDevice, Employee, Leave, Policy, Punch, Quarantine
from tests.api.conftest import Keys, auth
from tests.app_support import (
    DEPOT,
    HQ,
    AppOffice,
    enrol,
    seed_app_office,
    skip_if_berlin_day_younger_than,
)
from tests.rules.helpers import FLEX_DOC


@pytest.fixture
def office(store, now, keys: Keys) -> AppOffice:
    return seed_app_office(store, now)


def phone(app) -> TestClient:
    """A fresh phone (its own cookie jar)."""
    return TestClient(app, raise_server_exceptions=False)


def punch_body(lat: float, lon: float, acc: float = 10.0, **kw: Any) -> dict[str, Any]:
    ts = kw.pop("ts", utcnow().replace(microsecond=0))
    return {
        "schema_version": 1,
        "id": kw.pop("id", f"t-{lat}-{lon}-{acc}-{ts.timestamp()}"),
        "ts": ts.isoformat(),
        "lat": lat,
        "lon": lon,
        "acc": acc,
        "kind": kw.pop("kind", "in"),
        **kw,
    }


def test_enrolment_link_binds_one_phone_once(app, client, keys, office):
    res = client.post(f"/employees/{office.ids['2001']}/app-enrolments", headers=auth(keys.hr))
    assert res.status_code == 201
    body = res.json()
    assert body["qr_svg"].startswith("<svg") and body["employee_id"] == office.ids["2001"]
    path = "/" + body["link"].split("/", 3)[3]
    first = phone(app)
    page = first.get(path)
    assert page.status_code == 200 and "Ana" in page.text
    assert first.get("/app/me").status_code == 401  # opening the link binds nothing
    bound = first.post(path, follow_redirects=False)
    assert bound.status_code == 303 and bound.headers["location"] == "/app"
    cookie = bound.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/app" in cookie
    assert first.get("/app/me").json()["code"] == "2001"
    # Only the hash is kept server-side.
    with app.state.store.sessions() as s:
        stored = s.scalars(select(AppDevice.token_hash)).all()
    token = first.cookies.get(COOKIE)
    assert token is not None
    assert stored == [devices.digest(token)] and token not in stored
    # The same link again, from another phone: refused, and that phone is not bound.
    second = phone(app)
    assert second.get(path).status_code == 404
    refused = second.post(path, follow_redirects=False)
    assert refused.status_code == 404 and "used or expired" in refused.text  # a page, not JSON
    assert second.get("/app/me").status_code == 401


def test_expired_enrolment_is_refused(app, store, office):
    with store.sessions.begin() as s:
        emp = s.get(Employee, office.ids["2001"])
        made = devices.create_enrolment(
            s, employee=emp, now=utcnow() - timedelta(hours=1), ttl=timedelta(minutes=15), actor="t"
        )
    p = phone(app)
    assert p.get(f"/app/enrol/{made.code}").status_code == 404
    assert p.post(f"/app/enrol/{made.code}", follow_redirects=False).status_code == 404
    assert p.get("/app/me").status_code == 401


def test_enrolment_ttl_comes_from_settings(client, keys, office, store):
    res = client.post(f"/employees/{office.ids['2001']}/app-enrolments", headers=auth(keys.hr))
    expires = datetime.fromisoformat(res.json()["expires_at"])
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    left = (expires - utcnow()).total_seconds()
    assert store.settings.app_enrolment_ttl_s - 30 < left <= store.settings.app_enrolment_ttl_s


def test_revoked_phone_is_refused_at_once(app, client, keys, office):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    assert p.get("/app/me").status_code == 200
    listed = client.get(f"/employees/{office.ids['2001']}/app-devices", headers=auth(keys.hr))
    [device] = listed.json()
    assert device["revoked_at"] is None
    res = client.delete(
        f"/employees/{office.ids['2001']}/app-devices/{device['id']}", headers=auth(keys.hr)
    )
    assert res.status_code == 200 and res.json()["revoked_at"] is not None
    assert p.get("/app/me").status_code == 401
    assert p.get("/app/day").status_code == 401
    assert p.get("/app/month").status_code == 401
    assert p.get("/app/month", params={"month": "2026-10"}).status_code == 401
    assert p.get("/app/preview", params={"lat": HQ[0], "lon": HQ[1], "acc": 5}).status_code == 401
    assert p.post("/app/punches", json=punch_body(*HQ)).status_code == 401
    with app.state.store.sessions() as s:
        assert s.scalar(select(Punch.id)) is None


def test_department_scope_applies_to_enrolment_and_devices(app, client, keys, office):
    eng = office.ids["3001"]
    assert (
        client.post(f"/employees/{eng}/app-enrolments", headers=auth(keys.scoped_hr)).status_code
        == 404
    )
    enrol(phone(app), keys.hr, eng)
    assert (
        client.get(f"/employees/{eng}/app-devices", headers=auth(keys.scoped_hr)).status_code == 404
    )
    assert (
        client.delete(f"/employees/{eng}/app-devices/1", headers=auth(keys.scoped_hr)).status_code
        == 404
    )
    assert (
        client.post(f"/employees/{eng}/app-enrolments", headers=auth(keys.viewer)).status_code
        == 403
    )
    # Another employee's device id under one's own employee is not found either.
    ops = office.ids["2001"]
    assert (
        client.delete(f"/employees/{ops}/app-devices/1", headers=auth(keys.scoped_hr)).status_code
        == 404
    )


def test_punch_goes_through_the_phone_ingest_once(app, keys, office, store):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    taken = utcnow().replace(microsecond=0) - timedelta(minutes=3)
    body = punch_body(HQ[0] + 0.0005, HQ[1], 12.0, ts=taken, id="app-one")
    first = p.post("/app/punches", json=body)
    assert first.status_code == 200
    receipt = first.json()
    assert receipt["status"] == "accepted" and receipt["id"] == "app-one"
    assert receipt["site"] == "hq" and 50 < receipt["distance_m"] < 60
    again = p.post("/app/punches", json=body).json()
    assert again["status"] == "duplicate" and again["id"] == "app-one"
    with store.sessions() as s:
        rows = s.execute(select(Punch)).scalars().all()
    assert len(rows) == 1
    [row] = rows
    assert row.employee_code == "2001" and row.source_kind == "mobile"
    assert row.occurred_at == taken  # the time it was taken, not when it arrived
    assert row.device_code.startswith("app-") and row.geo_decision == "inside"


def test_punch_outside_a_rejecting_site_gets_why(app, keys, office, store):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    # 1 km from the depot (which rejects outside), far from hq.
    receipt = p.post("/app/punches", json=punch_body(DEPOT[0] + 0.011, DEPOT[1])).json()
    assert receipt["status"] == "rejected"
    assert "outside the fence" in receipt["reason"] and receipt["site"] == "depot"
    with store.sessions() as s:
        assert s.scalar(select(Punch.id)) is None
        assert s.scalar(select(Quarantine.reason)).startswith("rejected:")


def test_a_payload_naming_another_employee_is_rejected(app, keys, office, store):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    receipt = p.post("/app/punches", json=punch_body(*HQ, employee_code="2002")).json()
    assert receipt["status"] == "rejected" and "2002" in receipt["reason"]
    garbage = p.post("/app/punches", content=b"not json").json()
    assert garbage["status"] == "rejected" and "not JSON" in garbage["reason"]
    with store.sessions() as s:
        assert s.scalar(select(Punch.id)) is None


@pytest.mark.parametrize(
    ("lat", "lon", "acc", "outcome", "site"),
    [
        (HQ[0], HQ[1], 10, "inside", "hq"),
        (HQ[0] + 0.003, HQ[1], 10, "outside_flagged", "hq"),  # ~330 m from hq
        (HQ[0], HQ[1], 400, "accuracy_too_poor", "hq"),
        (DEPOT[0] + 0.011, DEPOT[1], 10, "outside_rejected", "depot"),
    ],
)
def test_preview_is_the_servers_decision(app, keys, office, lat, lon, acc, outcome, site):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    res = p.get("/app/preview", params={"lat": lat, "lon": lon, "acc": acc})
    assert res.status_code == 200
    body = res.json()
    assert (body["outcome"], body["site"]) == (outcome, site)
    if outcome == "outside_flagged":
        assert 170 < body["to_fence_m"] < 190  # ~333 m from the centre, radius 150
    # The punch then comes to what the preview said.
    receipt = p.post("/app/punches", json=punch_body(lat, lon, acc)).json()
    expected = "rejected" if outcome in ("accuracy_too_poor", "outside_rejected") else "accepted"
    assert receipt["status"] == expected


def app_routes(app) -> list[APIRoute]:
    routes = [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]
    return [r for r in routes if r.path.startswith("/app")]


def test_routes_refuse_a_phone_without_cookie(app, office):
    anonymous = phone(app)
    for path in (
        "/app/me",
        "/app/day",
        "/app/month",
        "/app/requests",
        "/app/preview?lat=1&lon=1&acc=1",
    ):
        assert anonymous.get(path).status_code == 401
    assert anonymous.post("/app/punches", json=punch_body(*HQ)).status_code == 401
    assert anonymous.post("/app/requests/1/cancel").status_code == 401


def test_one_employee_never_reads_anothers_data(app, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    assert ana.post("/app/punches", json=punch_body(*HQ, id="ana-1")).json()["status"] == "accepted"
    with store.sessions.begin() as s:  # Ana has a computed day and leave this month
        # Counted at any hour, so the day's figures are not zero whenever the test runs.
        hours = {**FLEX_DOC["flex"], "earliest_start": "00:00", "latest_end": "23:59"}
        document = {**FLEX_DOC, "flex": hours}
        flex = Policy(name="flex", kind="flexitime", document=document, updated_at=utcnow())
        s.add(flex)
        s.flush()
        today = utcnow().date()
        assign_policy(
            s,
            employee_id=office.ids["2001"],
            policy_id=flex.id,
            effective_from=today - timedelta(days=40),
            today=today,
        )
        s.add(
            Leave(
                employee_id=office.ids["2001"],
                leave_type="annual",
                start_date=today - timedelta(days=1),
                end_date=today - timedelta(days=1),
                part="full",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    process_dirty(store.engine, now=utcnow())
    assert ana.get("/app/month").json()["days"] and ana.get("/app/me").json()["breaks"]
    # Ana has a pending leave request made from her phone.
    asked = {
        "idempotency_key": "0f0f0f0f-0000-4000-8000-000000002001",
        "kind": "leave",
        "leave_type": "annual",
        "start_date": str(today + timedelta(days=30)),
        "reason": "holiday",
    }
    ana_request = ana.post("/app/requests", json=asked)
    assert ana_request.status_code == 201, ana_request.text
    with store.sessions() as s:
        ana_device = s.scalar(
            select(AppDevice.id).where(AppDevice.employee_id == office.ids["2001"])
        )
    # Walk every /app route with Bo's phone, naming Ana by every id she has.
    names = {
        "employee_id": office.ids["2001"],
        "employee_code": "2001",
        "code": "2001",
        "device_id": ana_device,
        "app_device_id": ana_device,
        "punch_id": 1,
        "request_id": ana_request.json()["id"],
        "name": "x",
        "month": f"{utcnow():%Y-%m}",
    }
    walked = 0
    for route in app_routes(app):
        path = route.path
        for key, value in names.items():
            path = path.replace("{" + key + "}", str(value))
        for method in (route.methods or set()) - {"HEAD"}:
            # A punch, Ana's request naming her, and Ana's retry key on a request of Bo's own.
            mine = {**asked, "leave_type": "unpaid", "reason": "mine"}
            for body in (punch_body(*HQ, id=f"bo-{walked}"), {**asked, **names}, mine):
                res = bo.request(method, path, params=names, json=body)
                walked += 1
                assert "Ana" not in res.text and '"2001"' not in res.text, (method, route.path)
                if res.headers.get("content-type", "").startswith("application/json"):
                    assert "annual" not in res.text, (method, route.path)  # her leave, her days
                if "/cancel" in path:
                    assert res.status_code == 404, res.text  # her request is not Bo's to withdraw
    assert walked >= 30
    # Bo's retry of Ana's key made Bo's own request; Ana's is untouched and Bo never saw it.
    bos = bo.get("/app/requests").json()
    assert [r["details"]["leave_type"] for r in bos] == ["unpaid"]
    assert ana.get("/app/requests").json() == [ana_request.json()]
    day = bo.get("/app/day").json()
    assert all(p["source"] == "mobile" for p in day["punches"])
    assert bo.get("/app/me").json()["code"] == "2002"
    assert bo.get("/app/me").json()["breaks"] is False  # Ana's policy, not Bo's
    month = bo.get("/app/month").json()
    assert month["days"] == [] and month["leave_days"] == {} and month["leave_on"] == {}
    with store.sessions() as s:
        codes = s.scalars(select(Punch.employee_code).order_by(Punch.id)).all()
    assert codes[0] == "2001" and set(codes[1:]) <= {"2002"}


def test_first_load_fits_the_budget(app, keys, office):
    """The page and all it loads, gzip-compressed, stay under 150 KB (nothing from elsewhere)."""
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    page = p.get("/app")
    assert page.status_code == 200
    assets = re.findall(r'(?:href|src)="(/[^"]+)"', page.text)
    assert "/app/static/app.js" in assets and "/app/manifest.webmanifest" in assets
    assert not re.search(r'(?:href|src)="(?:https?:)?//', page.text)
    bodies = [page.content] + [p.get(a).content for a in assets]
    bodies += [p.get(path).content for path in ("/app/sw.js", "/app/static/icon-192.png")]
    total = sum(len(gzip.compress(b, 6)) for b in bodies)
    assert total <= 150 * 1024, total
    # My month is a page of its own: it and what it loads stay within the budget too.
    month = p.get("/app/my-month")
    assets = re.findall(r'(?:href|src)="(/[^"]+)"', month.text)
    assert "/app/static/month.js" in assets
    assert not re.search(r'(?:href|src)="(?:https?:)?//', month.text)
    bodies = [month.content] + [p.get(a).content for a in assets]
    assert sum(len(gzip.compress(b, 6)) for b in bodies) <= 150 * 1024
    # So is my requests.
    mine = p.get("/app/my-requests")
    assets = re.findall(r'(?:href|src)="(/[^"]+)"', mine.text)
    assert "/app/static/requests.js" in assets
    assert not re.search(r'(?:href|src)="(?:https?:)?//', mine.text)
    bodies = [mine.content] + [p.get(a).content for a in assets]
    assert sum(len(gzip.compress(b, 6)) for b in bodies) <= 150 * 1024


def test_manifest_makes_the_app_installable(client):
    manifest = client.get("/app/manifest.webmanifest").json()
    assert manifest["start_url"] == "/app" and manifest["display"] == "standalone"
    sizes = {i["sizes"] for i in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/app/sw.js")
    assert sw.headers["service-worker-allowed"] == "/app"
    assert client.get("/app/static/..%2Fstyle.css").status_code == 404


def test_every_app_label_has_a_chinese_text():
    assert all(zh and zh != en for en, zh in APP_LABELS.values())
    static = Path(__file__).parents[2] / "api/static/app"
    script = "".join((static / name).read_text() for name in ("app.js", "month.js", "requests.js"))
    used = (
        set(re.findall(r"L\.(app_\w+)", script))
        | set(re.findall(r'"(app_[a-z_]*[a-z])"', script))
        | {f"app_part_{p}" for p in ("am", "pm", "hours")}
        | {f"app_will_{o}" for o in get_args(Outcome)}
        | {f"app_r_{s}" for s in ("accepted", "rejected", "duplicate")}
        | {f"app_dir_{s}" for s in ("in", "out", "break_out", "break_in")}
    )
    assert used <= set(APP_LABELS)


def test_each_phone_has_its_own_rate(settings, store, keys, office):
    store.settings = settings.model_copy(update={"api_rate_per_s": 0.01, "api_rate_burst": 3})
    app = create_app(store.settings, store)
    ana = enrol(phone(app), keys.admin, office.ids["2001"])
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    assert [ana.get("/app/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert ana.post("/app/punches", json=punch_body(*HQ)).status_code == 429
    assert bo.get("/app/me").status_code == 200
    with store.sessions() as s:
        assert s.scalar(select(Punch.id)) is None


def test_my_day_shows_own_punches_and_leaves_out_voided_ones(app, client, keys, office, store):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    ana.post("/app/punches", json=punch_body(*HQ, id="ana-in", kind="in"))
    ana.post("/app/punches", json=punch_body(HQ[0] + 1e-4, HQ[1], id="ana-out", kind="out"))
    day = ana.get("/app/day").json()
    assert [p["state"] for p in day["punches"]] == ["in", "out"]
    assert all(p["site"] == "hq" and p["source"] == "mobile" for p in day["punches"])
    with store.sessions() as s:
        out_id = s.scalar(select(Punch.id).where(Punch.state == "out"))
    voided = client.post(
        "/corrections/void",
        json={"punch_id": out_id, "reason": "punched twice"},
        headers=auth(keys.hr),
    )
    assert voided.status_code == 201, voided.text
    assert [p["state"] for p in ana.get("/app/day").json()["punches"]] == ["in"]


def test_my_day_equals_the_apis_employee_day(app, client, keys, office, store):
    with store.sessions.begin() as s:
        # Counted at any hour, so the day's figures are not zero whenever the test runs.
        hours = {**FLEX_DOC["flex"], "earliest_start": "00:00", "latest_end": "23:59"}
        document = {**FLEX_DOC, "flex": hours}
        flex = Policy(name="flex", kind="flexitime", document=document, updated_at=utcnow())
        s.add(flex)
        s.flush()
        today = utcnow().date()
        assign_policy(
            s,
            employee_id=office.ids["2001"],
            policy_id=flex.id,
            effective_from=today - timedelta(days=3),
            today=today,
        )
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    skip_if_berlin_day_younger_than(5)  # both punches of the last 4 minutes are one day
    now = utcnow().replace(microsecond=0)
    for n, kind in enumerate(("in", "out")):
        taken = now - timedelta(minutes=4 - 3 * n)  # 3 minutes apart: not a repeat
        body = punch_body(*HQ, ts=taken, id=f"ana-{kind}", kind=kind)
        assert ana.post("/app/punches", json=body).json()["status"] == "accepted"
    process_dirty(store.engine, now=utcnow())
    mine = ana.get("/app/day").json()
    theirs = client.get(
        "/reports/employee-day",
        params={"employee_id": office.ids["2001"], "date": mine["date"]},
        headers=auth(keys.viewer),
    ).json()
    assert mine["status"] is not None and mine["status"] == theirs["result"]["status"]
    assert minutes(mine["worked_s"]) == theirs["result"]["worked_minutes"]
    assert minutes(mine["late_s"]) == theirs["result"]["late_minutes"]
    assert len(mine["punches"]) == len(theirs["punches"]) == 2
    assert mine["worked_s"] > 0 and theirs["result"]["last_out"] is not None


@pytest.mark.parametrize(
    ("shift", "flag"),
    [(timedelta(hours=-1), "late_delivery"), (timedelta(hours=1), "future_timestamp")],
)
def test_a_phone_clock_off_by_an_hour_is_flagged_not_believed(app, keys, office, shift, flag):
    p = enrol(phone(app), keys.hr, office.ids["2001"])
    receipt = p.post("/app/punches", json=punch_body(*HQ, ts=utcnow() + shift)).json()
    assert receipt["status"] == "accepted" and flag in receipt["flags"]
