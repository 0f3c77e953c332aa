"""The punch app's test office: sites with fences, employees in two departments, enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi.testclient import TestClient

from collector.runtime import Store
from collector.store.models import Department, Site
from tests.api.conftest import auth
from tests.factories import add_employee

HQ = (52.52, 13.405)  # site hq: 150 m circle, outside flagged, accuracy up to 100 m
DEPOT = (52.40, 13.20)  # site depot: 200 m circle, outside rejected


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
