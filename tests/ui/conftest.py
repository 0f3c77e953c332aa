"""The pages' fixtures: an office seeded through ingest and the real recompute, and sign-in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

import pytest
from fastapi.testclient import TestClient

from collector.days import assign_policy, process_dirty
from collector.store.ingest import ingest_batch
from collector.store.models import Department, Device, Policy, Site
from rules.vocabulary import SourceKind
from tests.api import conftest as api_fixtures
from tests.api.conftest import Keys
from tests.factories import add_employee, raw_punch
from tests.rules.helpers import FLEX_DOC

# The API tests' fixtures: the app on this test's store, a client and keys of every role.
app, client, keys = api_fixtures.app, api_fixtures.client, api_fixtures.keys
START = date(2026, 11, 2)
MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
BERLIN = "Europe/Berlin"


@dataclass
class Office:
    """What the seed made: employee ids by code and the local dates with punches."""

    employees: dict[str, int]
    days: tuple[date, ...]


def _punch(code: str, day: date, hhmm: str, state: int, **kw):
    return raw_punch(code, datetime.combine(day, time.fromisoformat(hhmm)), state=state, **kw)


@pytest.fixture
def office(store, now, keys: Keys) -> Office:
    """Four employees in ENG and OPS under flexitime, three days of punches (some late,
    one by phone with its geofence verdict), days computed by collector.days, two
    quarantined punches (one fixable), and devices of each kind."""
    with store.sessions.begin() as s:
        ops = s.query(Department).filter_by(code="OPS").one()
        eng = Department(code="ENG", name="Engineering")
        site = Site(code="hq", name="HQ", timezone=BERLIN, country="DE", subdivision="BE")
        s.add_all([eng, site])
        s.flush()
        s.add_all(
            [
                Device(
                    code="door-1",
                    name="Front door",
                    kind="zk",
                    site_id=site.id,
                    timezone=BERLIN,
                    status="online",
                    last_seen_at=now,
                    clock_skew_s=2.5,
                    record_count=500,
                    record_capacity=1000,
                    reported_until=now,
                ),
                Device(
                    code="door-2",
                    name="Back door",
                    kind="zk",
                    site_id=site.id,
                    timezone=BERLIN,
                    status="offline",
                    last_error="connection timed out",
                    reported_until=now,
                ),
                Device(
                    code="lobby",
                    name="Lobby",
                    kind="push",
                    serial="PGT0001",
                    site_id=site.id,
                    timezone=BERLIN,
                    status="online",
                    last_seen_at=now,
                    reported_until=now,
                ),
            ]
        )
        flex = Policy(name="flex", kind="flexitime", document=FLEX_DOC, updated_at=now)
        s.add(flex)
        s.flush()
        emp = {}
        for code, name, dept in [
            ("1001", "Alice", eng),
            ("1002", "Bob", eng),
            ("1003", "Chen Wei", ops),
            ("1004", "Dan", ops),
        ]:
            e = add_employee(s, code, now, name=name, department_id=dept.id, site_id=site.id)
            emp[code] = e.id
            assign_policy(
                s, employee_id=e.id, policy_id=flex.id, effective_from=START, today=now.date()
            )
    batch = []
    for day in (MON, TUE, WED):
        batch += [_punch("1001", day, "08:55", 0), _punch("1001", day, "17:30", 1)]
        batch += [_punch("1003", day, "10:40", 0), _punch("1003", day, "19:00", 1)]
    batch += [_punch("1002", MON, "10:20", 0), _punch("1002", MON, "18:45", 1)]
    batch += [_punch("1004", TUE, "09:00", 0), _punch("1004", TUE, "17:10", 1)]
    batch.append(
        _punch(
            "1002",
            TUE,
            "09:05",
            0,
            source_kind=SourceKind.MOBILE,
            device_code="phone-1002",
            lat=52.52001,
            lon=13.40495,
            accuracy_m=12.0,
            site_code="hq",
            distance_m=35.0,
            geo_decision="inside",
        )
    )
    batch.append(_punch("1002", TUE, "18:00", 1))
    assert ingest_batch(store.engine, batch, now=now, policy=store.policy).inserted == len(batch)
    # Quarantined: a device zone nobody knows; door-9 is then declared (fixable), door-8 not.
    bad = [
        _punch("1004", WED, "09:10", 0, device_code="door-9", tz="Mars/Olympus"),
        _punch("1004", WED, "17:40", 1, device_code="door-8", tz="Mars/Olympus"),
    ]
    assert ingest_batch(store.engine, bad, now=now, policy=store.policy).quarantined == 2
    with store.sessions.begin() as s:
        s.add(Device(code="door-9", name="Garage", kind="zk", timezone=BERLIN))
    process_dirty(store.engine, now=now)
    return Office(employees=emp, days=(MON, TUE, WED))


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(browser: TestClient, token: str) -> TestClient:
    """Sign in through the form, as a browser would; the client keeps the cookie."""
    page = browser.get("/ui/sign-in")
    answer = browser.post(
        "/ui/sign-in",
        data={"api_key": token, "csrf": csrf_of(page.text), "next": "/ui/today"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return browser


def add_form(
    html: str, employee_id: int, timestamp: str, reason: str, key: str
) -> dict[str, object]:
    """The add-punch form as a browser sends it from the page `html` (state: in)."""
    return {
        "csrf": csrf_of(html),
        "employee_id": employee_id,
        "timestamp": timestamp,
        "state": "in",
        "reason": reason,
        "idempotency_key": key,
    }
