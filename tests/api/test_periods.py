"""Pay periods over HTTP: calendars, checklist, close with overrides, payroll files, reopen."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from collector.days import process_dirty
from tests.api.conftest import auth
from tests.collector.test_days import punches, setup_office
from tests.collector.test_periods import WEEK1

START = WEEK1.isoformat()


def seeded(store, now, client, keys):
    """Employee 1001 with a lone punch on Monday 2 Nov, and a weekly pay calendar."""
    setup_office(store, now)
    days = [WEEK1 + timedelta(days=i) for i in range(1, 5)]
    punches(
        store,
        now,
        (WEEK1, "09:00", 0),
        *[x for d in days for x in ((d, "08:30", 0), (d, "17:00", 1))],
    )
    process_dirty(store.engine, now=now)
    made = client.post(
        "/pay-calendars",
        json={"code": "weekly", "kind": "weekly", "anchor": START},
        headers=auth(keys.hr),
    )
    assert made.status_code == 201, made.text


def test_hr_closes_a_period_after_overriding_what_the_checklist_lists(store, now, client, keys):
    seeded(store, now, client, keys)
    hr = auth(keys.hr)
    wrong = client.get(
        "/periods/checklist", params={"calendar": "weekly", "start": "2026-11-03"}, headers=hr
    )
    assert wrong.status_code == 422 and "2026-11-02 to 2026-11-08" in wrong.json()["detail"]
    listed = client.get(
        "/periods/checklist", params={"calendar": "weekly", "start": START}, headers=hr
    )
    assert listed.json()["items"]["incomplete_days"]["count"] == 1
    refused = client.post("/periods/close", json={"calendar": "weekly", "start": START}, headers=hr)
    assert refused.status_code == 409
    assert [e["field"] for e in refused.json()["errors"]] == ["incomplete_days"]
    closed = client.post(
        "/periods/close",
        json={"calendar": "weekly", "start": START, "overrides": {"incomplete_days": "checked"}},
        headers=hr,
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["end"], body["overrides"]) == (
        "closed",
        "2026-11-08",
        {"incomplete_days": "checked"},
    )
    assert client.get("/periods", headers=hr).json()[0]["id"] == body["id"]


def test_payroll_files_follow_their_profile(store, now, client, keys):
    seeded(store, now, client, keys)
    hr = auth(keys.hr)
    pid = client.post(
        "/periods/close",
        json={"calendar": "weekly", "start": START, "overrides": {"incomplete_days": "ok"}},
        headers=hr,
    ).json()["id"]
    zh = client.get(f"/periods/{pid}/payroll", params={"profile": "generic-wide-zh"}, headers=hr)
    assert zh.status_code == 200
    assert zh.content.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    assert "payroll-weekly-2026-11-02-2026-11-08.csv" in zh.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(zh.content.decode("utf-8-sig"))))
    assert rows[0]["工号"] == "1001" and float(rows[0]["实际工时"]) == 32.0
    long = client.get(f"/periods/{pid}/payroll", params={"profile": "long-wage-types"}, headers=hr)
    lines = long.content.decode("utf-8").splitlines()
    assert lines[0] == "Personalnummer;Abrechnungszeitraum;Lohnart;Stunden;Tage;Kostenstelle"
    assert "1001;2026-11-02..2026-11-08;1000;32.0;;" in lines
    xlsx = client.get(f"/periods/{pid}/payroll", params={"format": "xlsx"}, headers=hr)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Employee code", "Name"]
    assert sheet.cell(2, header.index("Worked hours") + 1).value == 32.0
    unknown = client.get(f"/periods/{pid}/payroll", params={"profile": "nope"}, headers=hr)
    assert unknown.status_code == 404 and "generic-wide-en" in unknown.json()["detail"]


def test_only_admins_reopen_and_a_department_key_closes_nothing(store, now, client, keys):
    seeded(store, now, client, keys)
    body = {"calendar": "weekly", "start": START, "overrides": {"incomplete_days": "ok"}}
    assert client.post("/periods/close", json=body, headers=auth(keys.scoped_hr)).status_code == 403
    pid = client.post("/periods/close", json=body, headers=auth(keys.hr)).json()["id"]
    assert (
        client.post(
            f"/periods/{pid}/reopen", json={"reason": "x"}, headers=auth(keys.hr)
        ).status_code
        == 403
    )
    admin = auth(keys.admin)
    preview = client.post(f"/periods/{pid}/reopen", json={}, headers=admin).json()
    assert preview["reopened"] is False and preview["days"] == 7
    done = client.post(
        f"/periods/{pid}/reopen", json={"reason": "sent too early", "confirm": True}, headers=admin
    ).json()
    assert done["reopened"] is True
    assert client.get("/periods", headers=admin).json()[0]["status"] == "reopened"
    assert client.get(f"/periods/{pid}/payroll", headers=admin).status_code == 422
