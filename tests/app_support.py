"""The punch app's test office: sites with fences, employees in two departments, enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from collector.days import assign_policy, process_dirty
from collector.runtime import Store, utcnow
from collector.store.ingest import ingest_batch
from collector.store.models import Department, Policy, Site
from tests.api.conftest import auth
from tests.factories import add_employee, raw_punch
from tests.rules.helpers import FLEX_DOC

HQ = (52.52, 13.405)  # site hq: 150 m circle, outside flagged, accuracy up to 100 m
DEPOT = (52.40, 13.20)  # site depot: 200 m circle, outside rejected


def skip_if_berlin_day_younger_than(minutes: int) -> None:
    """Skip a test whose punches of the last `minutes` must all fall on today in Berlin."""
    local = utcnow().astimezone(ZoneInfo("Europe/Berlin"))
    if local - local.replace(hour=0, minute=0, second=0, microsecond=0) < timedelta(
        minutes=minutes
    ):
        pytest.skip(f"Berlin's day is not {minutes} minutes old: the punches would span two days")


@dataclass
class AppOffice:
    """Employee ids by code: 2001 and 2002 in OPS, 3001 in ENG."""

    ids: dict[str, int]


def seed_app_office(store: Store, now: datetime) -> AppOffice:
    """Two fenced sites and three employees (the keys fixture made department OPS)."""
    with store.sessions.begin() as s:
        ops = s.query(Department).filter_by(code="OPS").one()
        eng = Department(code="ENG", name="Engineering")
        hq = Site(
            code="hq",
            name="Head office",
            timezone="Europe/Berlin",
            lat=HQ[0],
            lon=HQ[1],
            radius_m=150,
            fence={"max_accuracy_m": 100, "outside": "flag"},
        )
        depot = Site(
            code="depot",
            name="Depot",
            timezone="Europe/Berlin",
            lat=DEPOT[0],
            lon=DEPOT[1],
            radius_m=200,
            fence={"outside": "reject"},
        )
        s.add_all([eng, hq, depot])
        s.flush()
        ids = {}
        for code, name, dept in (("2001", "Ana", ops), ("2002", "Bo", ops), ("3001", "Chen", eng)):
            emp = add_employee(s, code, now, name=name, department_id=dept.id, site_id=hq.id)
            ids[code] = emp.id
    return AppOffice(ids)


def enrolment_link(client: TestClient, token: str, employee_id: int) -> str:
    """HR creates an enrolment; returns the link's path."""
    res = client.post(f"/employees/{employee_id}/app-enrolments", headers=auth(token))
    assert res.status_code == 201, res.text
    link: str = res.json()["link"]
    return "/" + link.split("/", 3)[3]


def enrol(client: TestClient, token: str, employee_id: int) -> TestClient:
    """Bind `client` (a phone) to the employee through a fresh link; returns it."""
    link = enrolment_link(client, token, employee_id)
    res = client.post(link, follow_redirects=False)
    assert res.status_code == 303, res.text
    return client


MONTH = "2026-10"  # the month the self-service tests look at (days computed by the engine)


def seed_month(store: Store, client: TestClient, token: str, office: AppOffice) -> None:
    """Ana on flexitime with three worked days, a full, a half and a trip day of leave in
    October 2026 (leave entered through HR's API); Bo with one day; then the real recompute."""
    with store.sessions.begin() as s:
        flex = Policy(name="flex", kind="flexitime", document=FLEX_DOC, updated_at=utcnow())
        s.add(flex)
        s.flush()
        for code in ("2001", "2002"):
            assign_policy(
                s,
                employee_id=office.ids[code],
                policy_id=flex.id,
                effective_from=date(2026, 9, 1),
                today=date(2026, 9, 1),
            )
    spans = {
        "2001": [(1, "08:00", "16:45"), (2, "10:30", "17:00"), (5, "09:00", "13:00")],
        "2002": [(1, "07:30", "16:00")],
    }
    batch = []
    for code, days in spans.items():
        for day, start, end in days:
            for hhmm, state in ((start, 0), (end, 1)):
                when = datetime.combine(date(2026, 10, day), time.fromisoformat(hhmm))
                batch.append(raw_punch(code, when, state=state))
    assert ingest_batch(store.engine, batch, now=utcnow(), policy=store.policy).inserted == 8
    for body in (
        {"leave_type": "annual", "start_date": "2026-10-07"},
        {"leave_type": "sick", "start_date": "2026-10-08", "part": "am"},
        {"leave_type": "business_trip", "start_date": "2026-10-09"},
    ):
        res = client.post(f"/employees/{office.ids['2001']}/leave", json=body, headers=auth(token))
        assert res.status_code == 201, res.text
    process_dirty(store.engine, now=utcnow())
