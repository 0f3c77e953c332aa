"""Leave through the HR API: entered, scoped, audited, refused when it overlaps, recomputed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from collector.days import process_dirty
from collector.store.models import AuditLog, Department, Employee
from tests.api.conftest import auth
from tests.collector.test_days import TUE, day_row, punches, setup_office
from tests.ui.conftest import sign_in

WED = date(2026, 11, 25)


def add(client, token, emp, **body):
    return client.post(f"/employees/{emp}/leave", json=body, headers=auth(token))


def test_leave_entered_by_hr_turns_an_absence_into_leave_and_back(client, keys, store, now):
    emp, _ = setup_office(store, now)
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "absent"

    made = add(client, keys.hr, emp, leave_type="business_trip", start_date=str(TUE), note="Lyon")
    assert made.status_code == 201, made.text
    assert made.json()["end_date"] == str(TUE) and made.json()["created_by"].endswith(":hr")
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    # 19 characters: the status column was widened for leave:<type>.
    assert (row.status, row.worked_s) == ("leave:business_trip", 8 * 3600)
    assert row.explanation[0]["rule"] == "leave"

    gone = client.delete(f"/leave/{made.json()['id']}?reason=cancelled", headers=auth(keys.hr))
    assert gone.status_code == 204
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "absent"
    with store.sessions() as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["leave.add", "leave.delete"]


def test_half_day_leave_moves_the_reference_start(client, keys, store, now):
    emp, _ = setup_office(store, now)
    punches(store, now, (TUE, "14:20", 0), (TUE, "18:30", 1))
    r = add(client, keys.hr, emp, leave_type="annual", start_date=str(TUE), part="am")
    assert r.status_code == 201, r.text
    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    # Flexitime 07:00–20:00, latest start 10:00: halfway to the earliest end 16:00 is 13:00.
    assert row.late_s == 80 * 60
    assert row.target_s == 4 * 3600  # annual: the half is taken off the target
    assert "target reduced by 4 h to 4 h" in row.explanation[0]["text"]


def test_an_update_recomputes_the_old_and_the_new_day(client, keys, store, now):
    emp, _ = setup_office(store, now)
    made = add(client, keys.hr, emp, leave_type="sick", start_date=str(TUE)).json()
    process_dirty(store.engine, now=now)
    moved = client.put(
        f"/leave/{made['id']}",
        json={"leave_type": "sick", "start_date": str(WED)},
        headers=auth(keys.hr),
    )
    assert moved.status_code == 200, moved.text
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "absent"
    assert day_row(store, emp, WED).status == "leave:sick"


def test_overlapping_and_impossible_leave_is_refused(client, keys, store, now):
    emp, _ = setup_office(store, now)
    assert (
        add(client, keys.hr, emp, leave_type="annual", start_date=str(TUE), part="am").status_code
        == 201
    )
    again = add(client, keys.hr, emp, leave_type="sick", start_date=str(TUE))
    assert again.status_code == 409 and "overlaps leave" in again.text
    pm = add(client, keys.hr, emp, leave_type="compensatory", start_date=str(TUE), part="pm")
    assert pm.status_code == 201  # a morning and an afternoon do not overlap
    for body, field in [
        ({"leave_type": "holiday", "start_date": str(WED)}, "leave_type"),
        ({"leave_type": "annual", "start_date": str(WED), "end_date": str(TUE)}, "end_date"),
        ({"leave_type": "annual", "start_date": str(WED), "part": "hours"}, "start_time"),
        (
            {"leave_type": "annual", "start_date": str(TUE), "end_date": str(WED), "part": "pm"},
            "end_date",
        ),
    ]:
        bad = add(client, keys.hr, emp, **body)
        assert bad.status_code == 422, (body, bad.text)
        assert field in bad.text


def test_leave_is_hr_work_and_stays_in_the_department_scope(client, keys, store, now):
    emp, _ = setup_office(store, now)  # in no department: outside the OPS scope
    assert (
        add(client, keys.viewer, emp, leave_type="annual", start_date=str(TUE)).status_code == 403
    )
    assert (
        add(client, keys.scoped_hr, emp, leave_type="annual", start_date=str(TUE)).status_code
        == 404
    )
    made = add(client, keys.hr, emp, leave_type="annual", start_date=str(TUE)).json()
    hidden = client.put(
        f"/leave/{made['id']}",
        json={"leave_type": "sick", "start_date": str(TUE)},
        headers=auth(keys.scoped_hr),
    )
    assert hidden.status_code == 404
    window = {"from": "2026-11-01", "to": "2026-11-30"}
    assert client.get("/leave", params=window, headers=auth(keys.scoped_hr)).json() == []
    assert [x["id"] for x in client.get("/leave", params=window, headers=auth(keys.hr)).json()] == [
        made["id"]
    ]
    with store.sessions.begin() as s:
        s.get(Employee, emp).department_id = s.scalar(
            select(Department.id).where(Department.code == "OPS")
        )
    seen = client.get("/leave", params=window, headers=auth(keys.scoped_hr)).json()
    assert [x["id"] for x in seen] == [made["id"]]


def test_quota_taken_counts_working_days_only(client, keys, store, now):
    emp, _ = setup_office(store, now)
    put = client.put(
        f"/employees/{emp}/leave-quotas/annual",
        params={"year": 2026},
        json={"days": 20},
        headers=auth(keys.hr),
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "leave_type": "annual",
        "year": 2026,
        "quota_days": 20.0,
        "taken_days": 0.0,
        "remaining_days": 20.0,
    }
    # Fri 20 – Mon 23 Nov: two working days around a weekend; and a morning on the 25th.
    add(client, keys.hr, emp, leave_type="annual", start_date="2026-11-20", end_date="2026-11-23")
    add(client, keys.hr, emp, leave_type="annual", start_date=str(WED), part="am")
    add(client, keys.hr, emp, leave_type="sick", start_date=str(TUE))
    got = client.get(f"/employees/{emp}/leave-quotas", params={"year": 2026}, headers=auth(keys.hr))
    assert got.json() == [
        {
            "leave_type": "annual",
            "year": 2026,
            "quota_days": 20.0,
            "taken_days": 2.5,
            "remaining_days": 17.5,
        },
        {
            "leave_type": "sick",
            "year": 2026,
            "quota_days": None,
            "taken_days": 1.0,
            "remaining_days": None,
        },
    ]


def test_leave_types_are_listed_with_what_they_do(client, keys):
    got = client.get("/leave-types", headers=auth(keys.viewer)).json()
    by_code = {t["code"]: t for t in got}
    assert by_code["compensatory"]["target"] == "keep"
    assert by_code["business_trip"]["counts_as_worked"] is True
    assert by_code["field_work"]["punches_expected"] is True
    assert set(by_code) == {
        "annual", "sick", "unpaid", "compensatory", "business_trip", "field_work", "other"
    }  # fmt: skip


def test_the_employee_month_shows_a_leave_day_by_its_type(client, keys, store, now):
    emp, _ = setup_office(store, now)
    add(client, keys.hr, emp, leave_type="annual", start_date=str(TUE))
    process_dirty(store.engine, now=now)
    page = sign_in(client, keys.viewer).get(f"/ui/employee?employee_id={emp}&month=2026-11&lang=zh")
    assert page.status_code == 200
    assert f'data-day="{TUE}" data-status="leave:annual"' in page.text
    assert '<span class="badge s-leave">年假</span>' in page.text
