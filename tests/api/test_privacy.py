"""Location privacy across the whole API: a viewer never sees coordinates or raw payloads.

Every read route, in every export format, is called as a viewer with a phone punch on
file; none of the coordinates or the raw payload may appear. hr and admin do see them.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from collector.normalize import NormalizePolicy
from collector.store.ingest import ingest_batch
from collector.store.models import Employee
from rules.vocabulary import SourceKind
from tests.api.conftest import auth
from tests.factories import raw_punch

LAT, LON = 52.517231, 13.388861
RAW = '{"_type":"location","lat":52.517231,"lon":13.388861,"marker":"RAWPAYLOAD"}'
SECRET_BITS = ("52.517231", "13.388861", "517231", "388861", "RAWPAYLOAD")
PARAMS = {"from": "2026-03-01", "to": "2026-03-31", "date": "2026-03-02"}


@pytest.fixture
def phone_punch(store, engine, now):
    """One employee with a phone punch carrying exact coordinates and its raw message."""
    with store.sessions.begin() as s:
        s.add(Employee(code="1001", name="Ann", created_at=now))
    punch = raw_punch(
        "1001",
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        source_kind=SourceKind.MOBILE,
        source_ref="m1",
        device_code=None,
        lat=LAT,
        lon=LON,
        accuracy_m=5.0,
        raw=RAW,
        verify="gps",
    )
    assert ingest_batch(engine, [punch], now=now, policy=NormalizePolicy()).inserted == 1
    with store.sessions() as s:
        return s.scalar(select(Employee.id))


def _text(reply: Response) -> str:
    if reply.content[:2] == b"PK":  # xlsx: the text lives in the zipped XML parts
        with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
            return "".join(book.read(name).decode() for name in book.namelist())
    return reply.text


def _every_read(client: TestClient, token: str, employee_id: int):
    spec = client.get("/openapi.json", headers=auth(token)).json()
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        params = ops["get"].get("parameters", [])
        names = {p["name"] for p in params}
        url = path.replace("{employee_id}", str(employee_id))
        query = {k: v for k, v in PARAMS.items() if k in names}
        if "employee_id" in names and "{employee_id}" not in path:
            query["employee_id"] = str(employee_id)
        formats = ["json", "csv", "xlsx"] if "format" in names else [None]
        for fmt in formats:
            yield (
                path,
                client.get(
                    url, params=query | ({"format": fmt} if fmt else {}), headers=auth(token)
                ),
            )


def test_viewer_sees_no_coordinates_anywhere(client, keys, phone_punch):
    seen = 0
    for path, reply in _every_read(client, keys.viewer, phone_punch):
        if reply.status_code == 200:
            seen += 1
            body = _text(reply)
            for bit in SECRET_BITS:
                assert bit not in body, (path, bit)
        else:
            assert reply.status_code in (403, 404), (path, reply.status_code, reply.text)
    assert seen >= 10  # punches, employees, reports in three formats…


@pytest.mark.parametrize("role", ["hr", "admin"])
def test_hr_and_admin_see_coordinates_of_punches(client, keys, phone_punch, role):
    item = client.get("/punches", headers=auth(getattr(keys, role))).json()["items"][0]
    assert (item["lat"], item["lon"], item["raw"]) == (LAT, LON, RAW)
    viewer = client.get("/punches", headers=auth(keys.viewer)).json()["items"][0]
    assert (viewer["lat"], viewer["lon"], viewer["raw"]) == (None, None, None)
