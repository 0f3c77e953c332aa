"""The API explains itself: time filters, JSON errors by line and column, docs at /docs."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from collector.store.ingest import ingest_batch
from collector.store.models import Site
from tests.api.conftest import auth
from tests.factories import add_employee, raw_punch
from tests.ui.conftest import sign_in

BERLIN = "Europe/Berlin"


@pytest.fixture
def night_shift(store, now, keys):
    """One Berlin employee punching at 00:30 on the 26th (23:30 UTC on the 25th) and 17:00."""
    with store.sessions.begin() as s:
        site = Site(code="hq", name="HQ", timezone=BERLIN, country="DE")
        s.add(site)
        s.flush()
        add_employee(s, "7001", now, site_id=site.id)
    batch = [
        raw_punch("7001", datetime(2026, 11, 25, 17, 0), state=0),
        raw_punch("7001", datetime(2026, 11, 26, 0, 30), state=1),
    ]
    assert ingest_batch(store.engine, batch, now=now, policy=store.policy).inserted == 2


def listed(client, keys, query: str) -> list[str]:
    answer = client.get(f"/punches?{query}", headers=auth(keys.viewer))
    assert answer.status_code == 200, answer.text
    return [p["occurred_at"] for p in answer.json()["items"]]


def test_since_and_until_take_an_offset_or_a_date_in_the_sites_zone(client, keys, night_shift):
    # A date is the site's day: the 26th starts at 23:00 UTC on the 25th.
    assert listed(client, keys, "since=2026-11-26&until=2026-11-26") == ["2026-11-25T23:30:00Z"]
    assert listed(client, keys, "until=2026-11-25") == ["2026-11-25T16:00:00Z"]
    assert listed(client, keys, "since=2026-11-25T23:00:00Z") == ["2026-11-25T23:30:00Z"]
    assert listed(client, keys, "since=2026-11-26T00:00:00%2B01:00") == ["2026-11-25T23:30:00Z"]
    naive = client.get("/punches?since=2026-11-26T00:00", headers=auth(keys.viewer))
    assert naive.status_code == 422
    [error] = naive.json()["errors"]
    assert error["field"] == "since" and "UTC offset" in error["message"]


def test_the_schema_says_since_and_until_need_an_offset_or_are_dates(client, keys):
    schema = client.get("/openapi.json", headers=auth(keys.viewer)).json()
    params = {p["name"]: p for p in schema["paths"]["/punches"]["get"]["parameters"]}
    for name in ("since", "until"):
        assert "UTC offset" in params[name]["description"]
        assert "site's time zone" in params[name]["description"]
        formats = {s.get("format") for s in params[name]["schema"]["anyOf"]}
        assert {"date-time", "date"} <= formats


def test_a_malformed_json_body_names_line_and_column(client, keys):
    body = '{\n  "employee_id": 1,\n  "state" "in"\n}'
    answer = client.post(
        "/corrections/add",
        content=body,
        headers={**auth(keys.hr), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["field"], error["line"], error["column"]) == ("body", 3, 11)
    assert error["message"].startswith("not valid JSON at line 3, column 11:")
    assert "delimiter" in error["message"]
    assert answer.json()["detail"] == "invalid: body"


def test_docs_are_for_signed_in_admins_and_fetch_nothing_from_elsewhere(client, keys):
    entry = client.get("/docs", follow_redirects=False)
    assert entry.status_code == 303 and entry.headers["location"] == "/ui/docs"
    first = client.get("/ui/docs", follow_redirects=False)
    assert first.headers["location"].startswith("/ui/sign-in?next=")
    sign_in(client, keys.hr)
    assert client.get("/ui/docs").status_code == 403
    sign_in(client, keys.admin)
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(
        r"url: '([^']+)'", page.text
    )
    assert urls and all(u.startswith("/") for u in urls), urls  # nothing from a CDN
    assert '"validatorUrl": null' in page.text  # Swagger's online validator stays off
    for url in urls:
        assert client.get(url).status_code == 200, url
    schema = client.get("/ui/docs/openapi.json").json()
    assert "/punches" in schema["paths"]
    assert client.get("/ui/docs/assets/../../README.md").status_code == 404
