"""Punch listing: filters, redaction for viewers, and cursor pagination that stays stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.schemas.punches import PunchPublic
from collector.normalize import NormalizePolicy
from collector.store.ingest import ingest_batch
from collector.store.models import Department, Employee, Punch
from rules.vocabulary import PunchFlag, SourceKind
from tests.api.conftest import auth
from tests.factories import raw_punch

POLICY = NormalizePolicy()


@pytest.fixture
def punches(store, engine, now, keys):
    """60 punches of three employees (OPS, ENG, unknown) on two devices, three per instant."""
    with store.sessions.begin() as s:
        eng = Department(code="ENG", name="Engineering")
        s.add(eng)
        s.flush()
        s.add(Employee(code="1", name="ops", department_id=keys.department_id, created_at=now))
        s.add(Employee(code="2", name="eng", department_id=eng.id, created_at=now))
    batch = []
    base = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for i in range(20):
        same = base + timedelta(minutes=i)  # the three employees punch at one instant
        batch.append(raw_punch("1", same, device_code="door-1"))
        batch.append(raw_punch("2", same, device_code="door-2", flags=int(PunchFlag.CLOCK_SKEW)))
        batch.append(
            raw_punch(
                "3",
                same,
                source_kind=SourceKind.MOBILE,
                source_ref=f"m{i}",
                device_code=None,
                lat=52.5,
                lon=13.4,
                accuracy_m=5.0,
                raw='{"lat":52.5}',
                verify="gps",
            )
        )
    assert ingest_batch(engine, batch, now=now, policy=POLICY).inserted == 60


def walk(client, token, query="", limit=7):
    ids: list[int] = []
    cursor, pages = None, 0
    while True:
        url = f"/punches?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth(token)).json()
        ids.extend(p["id"] for p in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


def test_pages_cover_every_punch_once_in_stable_order(client, keys, punches):
    everything = client.get("/punches?limit=1000", headers=auth(keys.hr)).json()["items"]
    order = [(p["occurred_at"], p["id"]) for p in everything]
    assert order == sorted(order) and len(order) == 60
    ids, pages = walk(client, keys.hr)
    assert ids == [p["id"] for p in everything]
    assert pages == 9  # 60 / 7 rounded up
    back, _ = walk(client, keys.hr, "&order=desc", limit=11)
    assert back == ids[::-1]


def test_a_punch_arriving_mid_walk_never_duplicates_or_skips(client, keys, punches, engine, now):
    first = client.get("/punches?limit=10", headers=auth(keys.hr)).json()
    # A late punch from before the cursor and one after it arrive between two pages.
    late = [
        raw_punch("1", datetime(2026, 3, 2, 7, 0, tzinfo=UTC), device_code="door-1"),
        raw_punch("1", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), device_code="door-1"),
    ]
    assert ingest_batch(engine, late, now=now, policy=POLICY).inserted == 2
    seen = [p["id"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/punches?limit=10&cursor={cursor}", headers=auth(keys.hr)).json()
        seen.extend(p["id"] for p in page["items"])
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 61  # the earlier one is behind the cursor


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("&employee_code=1", 20),
        ("&department=ENG", 20),
        ("&device=door-1", 20),
        ("&source_kind=mobile", 20),
        ("&flags=clock_skew", 20),
        ("&flags=unknown_employee", 20),
        ("&flags=clock_skew,unknown_employee", 0),
        ("&since=2026-03-02T08:02:00Z&until=2026-03-02T08:04:00Z", 6),
        ("&department=OPS&since=2026-03-02T08:04:00%2B00:00", 16),
    ],
)
def test_filters(client, keys, punches, query, count):
    ids, _ = walk(client, keys.hr, query, limit=50)
    assert len(ids) == count


def test_scoped_key_lists_only_its_department(client, keys, punches):
    ids, _ = walk(client, keys.scoped_hr, limit=100)
    codes = {
        p["employee_code"]
        for p in client.get("/punches?limit=100", headers=auth(keys.scoped_hr)).json()["items"]
    }
    assert len(ids) == 20 and codes == {"1"}


def test_viewer_sees_no_coordinates_or_raw(client, keys, punches):
    hr = client.get("/punches?source_kind=mobile&limit=1", headers=auth(keys.hr)).json()
    viewer = client.get("/punches?source_kind=mobile&limit=1", headers=auth(keys.viewer)).json()
    assert (hr["items"][0]["lat"], hr["items"][0]["raw"]) == (52.5, '{"lat":52.5}')
    shown = viewer["items"][0]
    assert [shown[k] for k in ("lat", "lon", "accuracy_m", "distance_m", "raw")] == [None] * 5
    assert shown["id"] == hr["items"][0]["id"]


@pytest.mark.parametrize("role", ["hr", "viewer"])
def test_list_items_are_exactly_the_schemas_serialisation(client, keys, punches, store, role):
    # The list writes JSON straight from rows; each item must equal what the declared
    # response model (PunchPublic) writes for the same stored punch.
    answer = client.get("/punches?limit=1000&flags=clock_skew", headers=auth(keys.of(role)))
    items = answer.json()["items"]
    answer = client.get("/punches?limit=1000&source_kind=mobile", headers=auth(keys.of(role)))
    items += answer.json()["items"]
    assert len(items) == 40
    with store.sessions() as s:
        for item in items:
            stored = s.get(Punch, item["id"])
            expected = PunchPublic.of(stored, private=role == "hr").model_dump(mode="json")
            assert item == expected
    assert {tuple(i["flags"]) for i in items} == {("clock_skew",), ("unknown_employee",)}
    assert items[0]["occurred_at"].endswith("Z") and items[0]["local_date"] == "2026-03-02"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=not-a-cursor", "cursor"),
        ("flags=no_such_flag", "flags"),
        ("since=2026-03-02T08:00:00", "since"),  # a time without offset is ambiguous
        ("limit=5000", "limit"),
        ("source_kind=fax", "source_kind"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(client, keys, query, field):
    answer = client.get(f"/punches?{query}", headers=auth(keys.hr))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
