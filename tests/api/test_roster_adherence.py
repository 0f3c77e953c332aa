"""The roster-adherence report: shifts kept, late, left early, missed, on leave, rest worked."""

from __future__ import annotations

import re
from datetime import date, timedelta

from collector.days import process_dirty
from collector.days.statement import period_statement
from tests.api.conftest import auth
from tests.collector.test_days import punches, setup_office
from tests.ui.conftest import sign_in

MON = date(2026, 11, 16)
CELL = (
    r'data-day="([\d-]+)"[^>]*>\s*<span class="dnum">\d+'
    r'(?: <span class="shift-tag" data-shift="([^"]+)")?'
)
EARLY = {"start": "06:00", "end": "14:00", "grace_late_min": 0}


def roster_cycle(client, token: str, emp: int) -> None:
    """Employee on an `E E -` cycle from Monday 16 Nov: rest on 18 and 21 Nov."""
    h = auth(token)
    made = client.post(
        "/shift-types", json={"code": "E", "name": "Early", "shift": EARLY}, headers=h
    )
    assert made.status_code == 201, made.text
    pattern = client.post(
        "/shift-patterns",
        json={"name": "e2", "kind": "cycle", "codes": "E E -", "anchor": str(MON)},
        headers=h,
    )
    assert pattern.status_code == 201, pattern.text
    assigned = client.post(
        f"/employees/{emp}/roster-assignments",
        json={"pattern_id": pattern.json()["id"], "effective_from": str(MON)},
        headers=h,
    )
    assert assigned.status_code == 201, assigned.text


def test_a_rostered_week_kept_late_early_missed_on_leave_and_worked_on_rest(
    client, keys, store, now
):
    emp, _ = setup_office(store, now)
    roster_cycle(client, keys.admin, emp)
    day = [MON + timedelta(days=i) for i in range(7)]
    punches(
        store,
        now,
        (day[0], "05:58", 0),  # kept
        (day[0], "14:05", 1),
        (day[1], "06:20", 0),  # 20 minutes late
        (day[1], "14:00", 1),
        (day[2], "09:00", 0),  # a rest day worked: off the roster
        (day[2], "12:00", 1),
        # day[3]: rostered, no punch: absent
        (day[4], "06:00", 0),  # left 30 minutes early
        (day[4], "13:30", 1),
    )
    leave = {"leave_type": "annual", "start_date": str(day[6])}
    assert client.post(f"/employees/{emp}/leave", json=leave, headers=auth(keys.hr)).is_success
    process_dirty(store.engine, now=now)

    got = client.get(
        "/reports/roster-adherence",
        params={"from": str(day[0]), "to": str(day[6])},
        headers=auth(keys.viewer),
    )
    assert got.status_code == 200, got.text
    (row,) = got.json()["rows"]
    assert row["employee_code"] == "1001"
    figures = {k: v for k, v in row.items() if k not in ("employee_id", "name", "department")}
    assert figures == {
        "employee_code": "1001",
        "rostered_shift_days": 5,
        "rostered_rest_days": 2,
        "auto_shift_days": 0,
        "kept_shift_days": 1,
        "late_days": 1,
        "late_minutes": 20.0,
        "early_leave_days": 1,
        "early_leave_minutes": 30.0,
        "absent_shift_days": 1,
        "leave_shift_days": 1,
        "worked_rest_days": 1,
        "adherence_rate": 0.25,  # 1 kept of 4 decided shift days (leave aside)
    }
    # Before the roster there is nothing to adhere to: no row.
    before = client.get(
        "/reports/roster-adherence",
        params={"from": "2026-11-02", "to": "2026-11-15"},
        headers=auth(keys.viewer),
    )
    assert before.json()["rows"] == []

    # The employee's month names the shift each day was measured against.
    with store.engine.connect() as conn:
        shown = period_statement(conn, emp, day[0], day[6]).days
    assert [d.shift for d in shown] == ["E", "E", "-", "E", "E", "-", "E"]
    page = sign_in(client, keys.hr).get(f"/ui/employee?employee_id={emp}&month=2026-11")
    assert page.status_code == 200, page.text
    cells = dict(re.findall(CELL, page.text))
    assert [cells[str(d)] for d in day] == ["E", "E", "-", "E", "E", "-", "E"]
    assert cells["2026-11-13"] == ""  # before the roster: no shift named
