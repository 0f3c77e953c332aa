"""Quarantined push lines are replayed in production: the service registers the re-parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import web_app
from collector.push import uploads
from collector.quarantine import replay
from collector.store.models import Punch
from devices.types import BadRecord
from devices.zk.push.records import parse_attlog
from tests.api.conftest import auth
from tests.push_support import add_push_device

ATT = "/iclock/cdata?SN=SIM0001&table=ATTLOG&Stamp=7"


@pytest.fixture
def served(store, keys, monkeypatch):
    # The registry is process-wide: this test's registrations end with it.
    monkeypatch.setattr(replay, "_REPARSERS", {})
    add_push_device(store)
    with TestClient(web_app(store), raise_server_exceptions=False) as client:  # as serve builds it
        yield client


def _old_parser(body: str):
    # A parser before its fix: it could not read bridges that separate fields with spaces.
    return [
        BadRecord("not a PIN, time, status… record", str(item.punch.raw), item.line)
        if not isinstance(item, BadRecord) and "\t" not in str(item.punch.raw)
        else item
        for item in parse_attlog(body)
    ]


def test_a_push_line_refused_by_an_old_parser_is_replayed_through_the_api(
    served, store, keys, monkeypatch
):
    with monkeypatch.context() as old:
        old.setattr(uploads, "parse_attlog", _old_parser)
        body = "1001\t2026-03-02 09:00:05\t0\t15\n1002 2026-03-02 09:01:00 1 1\nnonsense\n"
        assert served.post(ATT, content=body).text == "OK"
    listed = served.get("/quarantine", headers=auth(keys.hr)).json()
    assert [(q["reference"], q["replayable"]) for q in listed] == [
        ("SN=SIM0001 ATTLOG Stamp=7 line 2", False),
        ("SN=SIM0001 ATTLOG Stamp=7 line 3", False),
    ]
    fixed, garbage = listed
    # The fixed parser reads line 2; line 3 is still garbage and says why.
    refused = served.post(f"/quarantine/{garbage['id']}/reprocess", headers=auth(keys.hr))
    assert refused.status_code == 409
    assert refused.json()["detail"] == "still not a punch: not a PIN, time, status… record"
    done = served.post(f"/quarantine/{fixed['id']}/reprocess", headers=auth(keys.hr))
    assert done.status_code == 200, done.text
    with store.sessions() as s:
        punch = s.get(Punch, done.json()["punch_id"])
        stored = s.scalars(select(Punch.employee_code).order_by(Punch.employee_code)).all()
    assert stored == ["1001", "1002"]
    # As the upload would have stored it: the terminal's zone, state, source ref.
    assert (punch.occurred_at, punch.tz, punch.state, punch.device_code) == (
        datetime(2026, 3, 2, 8, 1, tzinfo=UTC),
        "Europe/Berlin",
        "out",
        "face-1",
    )
    assert punch.source_ref == fixed["reference"]
    again = served.post(ATT, content="1002 2026-03-02 09:01:00 1 1\n")  # the terminal resends
    assert again.text == "OK"
    with store.sessions() as s:
        assert len(s.scalars(select(Punch.id)).all()) == 2  # the same punch, stored once


def test_an_operlog_line_is_not_replayed_as_a_punch(served, keys):
    assert served.post("/iclock/cdata?SN=SIM0001&table=OPERLOG", content="BOGUS 1\n").text == "OK"
    [item] = served.get("/quarantine", headers=auth(keys.hr)).json()
    refused = served.post(f"/quarantine/{item['id']}/reprocess", headers=auth(keys.hr))
    assert refused.status_code == 409
    assert "single ATTLOG line" in refused.json()["detail"]
