"""The app's self-service and the rest of the punch screen: my month (HR's figures, one's
own only), break punches when the policy has them, and trip days that accept any place."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from collector.runtime import utcnow
from collector.store.models import Punch
from tests.api.conftest import Keys, auth
from tests.app_support import (
    DEPOT,
    HQ,
    MONTH,
    AppOffice,
    enrol,
    seed_app_office,
    seed_month,
    skip_if_berlin_day_younger_than,
)
from tests.ui.conftest import sign_in


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
        "id": kw.pop("id"),
        "ts": ts.isoformat(),
        "lat": lat,
        "lon": lon,
        "acc": acc,
        "kind": kw.pop("kind", "in"),
    }


def hr_page(app, token: str, employee_id: int) -> str:
    """HR's employee-month page for that employee and month, as HR's browser gets it."""
    browser = sign_in(TestClient(app), token)
    page = browser.get("/ui/employee", params={"employee_id": employee_id, "month": MONTH})
    assert page.status_code == 200
    return page.text


def test_my_month_equals_hrs_employee_month_and_reports(app, client, keys, office, store):
    seed_month(store, client, keys.hr, office)
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    res = ana.get("/app/month", params={"month": MONTH})
    assert res.status_code == 200, res.text
    mine = res.json()
    assert mine["month"] == MONTH and mine["timezone"] == "Europe/Berlin"
    assert (mine["prev_month"], mine["next_month"]) == ("2026-09", "2026-11")
    # Day by day, the statuses HR's calendar shows.
    html = hr_page(app, keys.hr, office.ids["2001"])
    theirs = dict(re.findall(r'data-day="([\d-]+)" data-status="([^"]+)"', html))
    assert {d["date"]: d["status"] for d in mine["days"]} == theirs
    assert theirs["2026-10-01"] == "present" and theirs["2026-10-02"] == "late"
    assert theirs["2026-10-07"] == "leave:annual" and theirs["2026-10-09"] == "leave:business_trip"
    # Worked time and the balance's change, as HR's page has them.
    assert f'data-worked-s="{mine["worked_s"]}"' in html
    assert f'data-change-s="{mine["balance"]["change_s"]}"' in html
    # The same as HR's attendance report over the month.
    report = client.get(
        "/reports/attendance",
        params={"from": "2026-10-01", "to": "2026-10-31"},
        headers=auth(keys.viewer),
    ).json()
    [row] = [r for r in report["rows"] if r["employee_code"] == "2001"]
    assert row["worked_hours"] == round(mine["worked_s"] / 3600, 2)
    assert row["flexitime_balance_hours"] == round(mine["balance"]["change_s"] / 3600, 2)
    assert row["late_days"] == mine["late_days"] == 1
    # Worked vs target: the days' own figures add up; the trip day is credited as worked.
    assert mine["target_s"] == sum(d["target_s"] for d in mine["days"]) > 0
    assert mine["worked_s"] == sum(d["worked_s"] for d in mine["days"]) > 0
    trip = next(d for d in mine["days"] if d["date"] == "2026-10-09")
    assert trip["worked_s"] == trip["target_s"] > 0
    late = next(d for d in mine["days"] if d["date"] == "2026-10-02")
    assert late["late_s"] == 30 * 60 and late["first_in"] == "10:30"
    # Leave by type: the quotas' own count (all of the year's leave is in this month).
    quotas = client.get(
        f"/employees/{office.ids['2001']}/leave-quotas",
        params={"year": 2026},
        headers=auth(keys.hr),
    ).json()
    taken = {q["leave_type"]: q["taken_days"] for q in quotas if q["taken_days"]}
    assert mine["leave_days"] == taken == {"annual": 1.0, "sick": 0.5, "business_trip": 1.0}
    assert mine["leave_on"]["2026-10-08"] == ["sick:am"]


def test_my_month_is_only_ones_own(app, client, keys, office, store):
    seed_month(store, client, keys.hr, office)
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    mine = bo.get("/app/month", params={"month": MONTH}).json()
    assert [d["date"] for d in mine["days"]] == ["2026-10-01"]
    assert mine["leave_days"] == {} and mine["leave_on"] == {}
    # The query names no one: an employee id in it changes nothing.
    other = bo.get("/app/month", params={"month": MONTH, "employee_id": office.ids["2001"]})
    assert other.json() == mine
    assert bo.get("/app/month", params={"month": "2026-13"}).status_code == 422


def test_break_buttons_follow_the_policy_and_store_break_states(app, client, keys, office, store):
    seed_month(store, client, keys.hr, office)  # Ana and Bo on flexitime with a break table
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    chen = enrol(phone(app), keys.hr, office.ids["3001"])  # no policy: nothing to break
    assert ana.get("/app/me").json()["breaks"] is True
    assert chen.get("/app/me").json()["breaks"] is False
    skip_if_berlin_day_younger_than(9)  # the four punches of the last 8 minutes are one day
    now = utcnow().replace(microsecond=0)
    for n, kind in enumerate(("in", "break_out", "break_in", "out")):
        body = punch_body(HQ[0] + n * 1e-4, HQ[1], ts=now - timedelta(minutes=8 - 2 * n), id=kind)
        body["kind"] = kind
        assert ana.post("/app/punches", json=body).json()["status"] == "accepted"
    day = ana.get("/app/day").json()
    assert [p["state"] for p in day["punches"]] == ["in", "break_out", "break_in", "out"]
    with store.sessions() as s:
        states = s.scalars(select(Punch.state).where(Punch.device_code.like("app-%"))).all()
    assert sorted(states) == sorted(["in", "break_out", "break_in", "out"])


def test_on_a_trip_day_the_preview_and_the_punch_accept_anywhere(app, client, keys, office, store):
    today = utcnow().astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    res = client.post(
        f"/employees/{office.ids['2001']}/leave",
        json={"leave_type": "business_trip", "start_date": today},
        headers=auth(keys.hr),
    )
    assert res.status_code == 201, res.text
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    bo = enrol(phone(app), keys.hr, office.ids["2002"])
    far = {"lat": DEPOT[0] + 0.011, "lon": DEPOT[1], "acc": 10}  # 1 km out of a rejecting fence
    seen = ana.get("/app/preview", params=far).json()
    assert seen["outcome"] == "trip" and "business trip on" in seen["reason"]
    assert bo.get("/app/preview", params=far).json()["outcome"] == "outside_rejected"
    # Inside a fence it stays an ordinary inside punch.
    inside = ana.get("/app/preview", params={"lat": HQ[0], "lon": HQ[1], "acc": 10}).json()
    assert inside["outcome"] == "inside"
    vague = {"lat": HQ[0], "lon": HQ[1], "acc": 400}  # too vague to place: anywhere will do
    assert ana.get("/app/preview", params=vague).json()["outcome"] == "trip"
    assert bo.get("/app/preview", params=vague).json()["outcome"] == "accuracy_too_poor"
    receipt = ana.post("/app/punches", json=punch_body(far["lat"], far["lon"], id="trip")).json()
    assert receipt["status"] == "accepted"
    assert receipt["flags"] == ["outside_fence", "trip_day"]
    assert "business trip on" in receipt["reason"]
    refused = bo.post("/app/punches", json=punch_body(far["lat"], far["lon"], id="home")).json()
    assert refused["status"] == "rejected"
    with store.sessions() as s:
        stored = s.scalars(select(Punch.employee_code)).all()
    assert stored == ["2001"]


def test_my_month_page_is_the_shell_and_names_no_one(app, keys, office):
    ana = enrol(phone(app), keys.hr, office.ids["2001"])
    page = ana.get("/app/my-month")
    assert page.status_code == 200 and "Ana" not in page.text
    assert '<script src="/app/static/month.js"' in page.text
    assert phone(app).get("/app/month").status_code == 401
