"""Fuzzed push-terminal requests through the /iclock routes, and fuzzed employee CSV upserts.

/iclock: whatever a terminal sends, the reply is never a 5xx; the terminal hears "OK" only
when every line was stored or quarantined (so it may drop them); stored punches are sound
and every line that is not a punch is in quarantine with a reason.
CSV upsert: all rows or none, only InvalidInput/NotFound/Conflict out of it.
"""

from __future__ import annotations

import csv
import io
import string

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.app import create_app
from collector.errors import DomainError
from collector.masterdata.employees import upsert_csv
from collector.store.models import Department, Employee, Punch, Quarantine
from rules.vocabulary import PunchState, SourceKind
from tests.conftest import NOW
from tests.fuzz.test_fuzz_parsers import push_body
from tests.push_support import add_push_device

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
tables = st.sampled_from(
    ["ATTLOG", "OPERLOG", "attlog", "BIODATA", "", "../../etc/passwd", "x' OR 1=1"]
)
queries = st.fixed_dictionaries(
    {"SN": st.one_of(st.just("FUZZ1"), st.text(max_size=12))},
    optional={
        "table": tables,
        "Stamp": st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=8)),
        "options": st.sampled_from(["all", "", "x"]),
    },
)


@pytest.fixture
def iclock(settings, store):
    add_push_device(store, serial="FUZZ1")
    store.settings = settings.model_copy(update={"push_rate_per_s": 1e6, "push_rate_burst": 10**6})
    with TestClient(create_app(store.settings, store), raise_server_exceptions=False) as client:
        yield client


@FUZZ
@given(
    query=queries,
    body=st.one_of(push_body, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))),
)
def test_push_uploads_never_fail_on_the_server_and_store_only_sound_punches(
    iclock, store, query, body
):
    with store.sessions() as s:
        before = (
            s.scalar(select(func.count()).select_from(Punch)),
            s.scalar(select(func.count()).select_from(Quarantine)),
        )
    reply = iclock.post(
        "/iclock/cdata", params=query, content=body.encode("utf-8", "surrogateescape")
    )
    assert reply.status_code < 500, reply.text
    with store.sessions() as s:
        punches = list(s.scalars(select(Punch)))
        bad = list(s.scalars(select(Quarantine)))
    for p in punches:
        assert p.employee_code and p.employee_code == p.employee_code.strip()
        assert p.source_kind == SourceKind.PUSH and p.state in {x.value for x in PunchState}
        assert p.device_code == "face-1" and p.occurred_at is not None
    assert all(q.reason for q in bad)
    # Lines as the protocol reads them (str.splitlines: any line boundary).
    lines = [ln for ln in body.splitlines() if ln.strip("\r\n\x00").strip()]
    is_attlog = query.get("table", "").upper() == "ATTLOG" and query["SN"] == "FUZZ1"
    if reply.status_code == 200 and is_attlog and reply.text.startswith("OK"):
        # "OK" lets the terminal forget the lines: each is now a punch (new or already
        # stored) or a quarantine row, so nothing it sent can be lost.
        grown = (len(punches) - before[0]) + (len(bad) - before[1])
        assert grown <= len(lines)


cell = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=string.digits, min_size=1, max_size=6),
    st.sampled_from(
        ["", "OPS", "NOPE", "2026-01-01", "2026-13-40", "'; DROP TABLE employees; --", "\x00"]
    ),
)
columns = st.lists(
    st.sampled_from(
        ["code", "name", "department", "site", "active_from", "active_to", "id:owntracks", "bogus"]
    ),
    min_size=1,
    max_size=5,
    unique=True,
)


@FUZZ
@given(
    header=columns,
    rows=st.lists(st.lists(cell, min_size=0, max_size=6), max_size=8),
    bom=st.booleans(),
)
def test_csv_upsert_is_all_or_nothing_with_only_our_errors(store, now, header, rows, bom):
    with store.sessions.begin() as s:
        if s.scalar(select(Department).where(Department.code == "OPS")) is None:
            s.add(Department(code="OPS", name="Operations"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    data = ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8", "surrogatepass")
    with store.sessions() as s:
        before = sorted((e.code, e.name) for e in s.scalars(select(Employee)))
    try:
        with store.sessions.begin() as s:
            counts = upsert_csv(s, data=data, now=NOW)
    except DomainError as exc:
        assert exc.detail
        with store.sessions() as s:
            assert sorted((e.code, e.name) for e in s.scalars(select(Employee))) == before
        return
    with store.sessions() as s:
        employees = list(s.scalars(select(Employee)))
    assert counts["created"] + counts["updated"] == len(
        [r for r in rows if r]
    )  # blank lines skipped
    for e in employees:
        assert e.code and e.code == e.code.strip() and "\x00" not in e.code
