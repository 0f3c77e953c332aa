"""Employee requests through the API: asked, limited, decided once, scoped, audited, announced."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from collector.days import process_dirty
from collector.outbound.events import EventType
from collector.store.models import AuditLog, EmployeeRequest, OutboxMessage, Policy, Punch
from collector.workforce.requests import approved_overtime
from tests.api.conftest import auth
from tests.api.test_rosters import setup_roster
from tests.collector.outbound.test_outbox import check_schema
from tests.collector.test_days import TUE, day_row, punches, setup_office
from tests.outbound_support import add_webhook
from tests.rules.helpers import FLEX_DOC

MISSED = {"kind": "missed_punch", "timestamp": "2026-11-24T09:05:00", "state": "in"}


def ask(client, token, emp, **body):
    return client.post(f"/employees/{emp}/requests", json=body, headers=auth(token))


def decide(client, token, request_id, action, comment=""):
    return client.post(
        f"/requests/{request_id}/{action}", json={"comment": comment}, headers=auth(token)
    )


def manual_punches(store, emp) -> list[Punch]:
    with store.sessions() as s:
        return list(
            s.scalars(select(Punch).where(Punch.employee_id == emp, Punch.source_kind == "manual"))
        )


def audit_actions(store, entity: str) -> list[str]:
    with store.sessions() as s:
        return list(
            s.scalars(
                select(AuditLog.action).where(AuditLog.entity == entity).order_by(AuditLog.id)
            )
        )


def test_an_approved_missed_punch_becomes_one_manual_punch(client, keys, store, now):
    emp, _ = setup_office(store, now)
    punches(store, now, (TUE, "17:40", 1))
    made = ask(client, keys.hr, emp, reason="terminal was down", **MISSED)
    assert made.status_code == 201, made.text
    req = made.json()
    assert (req["state"], req["date"], req["details"]["state"]) == ("pending", str(TUE), "in")
    assert manual_punches(store, emp) == []  # nothing happens before a decision

    approved = decide(client, keys.hr, req["id"], "approve", "seen the camera")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["state"], body["comment"]) == ("approved", "seen the camera")
    [punch] = manual_punches(store, emp)
    assert body["outcome"] == {"punch_id": punch.id}
    assert punch.source_ref == f"request-{req['id']}" and f"request #{req['id']}" in str(punch.note)

    again = decide(client, keys.hr, req["id"], "approve")
    assert again.status_code == 409 and "approved cannot be approved" in again.text
    assert len(manual_punches(store, emp)) == 1  # still one punch
    assert decide(client, keys.hr, req["id"], "reject").status_code == 409
    assert decide(client, keys.hr, req["id"], "cancel").status_code == 409

    process_dirty(store.engine, now=now)
    row = day_row(store, emp, TUE)
    assert row.status != "absent" and row.worked_s > 8 * 3600 - 3600
    assert audit_actions(store, "request") == ["request.create", "request.approve"]
    assert audit_actions(store, "punch") == ["punch.add"]


def test_rejection_and_cancellation_store_nothing_and_are_audited(client, keys, store, now):
    emp, _ = setup_office(store, now)
    first = ask(client, keys.hr, emp, reason="forgot", **MISSED).json()
    second = ask(client, keys.hr, emp, reason="forgot again", **MISSED).json()
    rejected = decide(client, keys.manager, first["id"], "reject", "no proof")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    # Cancelling is hr's (on the employee's behalf), not a manager's decision.
    assert decide(client, keys.manager, second["id"], "cancel").status_code == 403
    cancelled = decide(client, keys.hr, second["id"], "cancel", "asked twice")
    assert cancelled.json()["state"] == "cancelled"
    assert manual_punches(store, emp) == []
    assert decide(client, keys.hr, second["id"], "approve").status_code == 409
    with store.sessions() as s:
        reasons = s.scalars(
            select(AuditLog.reason).where(AuditLog.action.in_(["request.reject", "request.cancel"]))
        ).all()
    assert sorted(reasons) == ["asked twice", "no proof"]


def test_an_approved_leave_request_makes_the_day_leave(client, keys, store, now):
    emp, _ = setup_office(store, now)
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "absent"
    made = ask(
        client, keys.hr, emp, kind="leave", leave_type="annual", start_date=str(TUE), reason="trip"
    )
    assert made.status_code == 201, made.text
    approved = decide(client, keys.hr, made.json()["id"], "approve")
    assert approved.status_code == 200, approved.text
    leave_id = approved.json()["outcome"]["leave_id"]
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "leave:annual"
    leave = client.get(f"/employees/{emp}/leave", headers=auth(keys.hr)).json()
    assert [(x["id"], x["source"]) for x in leave] == [(leave_id, "request")]


def test_a_business_trip_is_leave_of_the_trip_type(client, keys, store, now):
    emp, _ = setup_office(store, now)
    made = ask(
        client,
        keys.hr,
        emp,
        kind="business_trip",
        start_date="2026-11-24",
        end_date="2026-11-25",
        reason="Lyon",
    )
    assert made.status_code == 201, made.text
    assert made.json()["details"]["leave_type"] == "business_trip"
    assert made.json()["end_date"] == "2026-11-25"
    assert decide(client, keys.hr, made.json()["id"], "approve").status_code == 200
    process_dirty(store.engine, now=now)
    assert day_row(store, emp, TUE).status == "leave:business_trip"
    assert day_row(store, emp, date(2026, 11, 25)).status == "leave:business_trip"


def test_a_leave_request_that_overlaps_stays_pending(client, keys, store, now):
    emp, _ = setup_office(store, now)
    body = {"kind": "leave", "leave_type": "sick", "start_date": str(TUE), "reason": "flu"}
    first, second = ask(client, keys.hr, emp, **body).json(), ask(client, keys.hr, emp, **body)
    assert decide(client, keys.hr, first["id"], "approve").status_code == 200
    refused = decide(client, keys.hr, second.json()["id"], "approve")
    assert refused.status_code == 409 and "overlaps leave" in refused.text
    got = client.get(f"/requests/{second.json()['id']}", headers=auth(keys.hr)).json()
    assert got["state"] == "pending"  # the refused approval changed nothing


def test_an_approved_swap_changes_both_rosters(client, keys, admin, store):
    ids = setup_roster(client, keys.admin)
    h = auth(keys.hr)
    other = client.post(
        "/employees", json={"code": "4003", "department": "FAC"}, headers=auth(keys.admin)
    )
    assert other.status_code == 201, other.text
    assert client.post(
        f"/departments/{ids['FAC']}/roster-assignments",
        json={"pattern_id": ids["pattern"], "effective_from": "2026-11-03"},
        headers=h,
    ).is_success
    # Rostered E N - from 2 Nov: 4 Nov is a rest day; the other works a day entry N.
    assert client.put(
        f"/employees/{other.json()['id']}/roster-days/2026-11-04", json={"code": "E"}, headers=h
    ).is_success
    made = ask(
        client,
        keys.hr,
        ids["fac"],
        kind="shift_swap",
        start_date="2026-11-04",
        other_employee_id=other.json()["id"],
        reason="family visit",
    )
    assert made.status_code == 201, made.text
    assert (made.json()["details"]["code"], made.json()["details"]["other_code"]) == ("-", "E")
    approved = decide(client, keys.hr, made.json()["id"], "approve")
    assert approved.status_code == 200, approved.text
    grid = client.get(
        f"/departments/{ids['FAC']}/roster",
        params={"from": "2026-11-04", "to": "2026-11-04"},
        headers=h,
    ).json()
    cells = {row["code"]: (row["days"][0]["code"], row["days"][0]["source"]) for row in grid}
    assert cells == {"4001": ("E", "day_entry"), "4003": ("-", "day_entry")}
    unrostered = ask(
        client,
        keys.hr,
        ids["fac"],
        kind="shift_swap",
        start_date="2026-11-02",  # before the assignment: nothing planned
        other_employee_id=other.json()["id"],
        reason="x",
    )
    assert unrostered.status_code == 422 and "no rostered shift" in unrostered.text


def test_the_monthly_limit_comes_from_the_policy(client, keys, store, now):
    emp, ids = setup_office(store, now)
    with store.sessions.begin() as s:
        s.get_one(Policy, ids["flex"]).document = {
            **FLEX_DOC,
            "requests": {"per_month": {"missed_punch": 2}},
        }
    made = [ask(client, keys.hr, emp, reason=f"#{i}", **MISSED) for i in range(2)]
    assert [m.status_code for m in made] == [201, 201]
    third = ask(client, keys.hr, emp, reason="#3", **MISSED)
    assert third.status_code == 409, third.text
    assert "at most 2 missed punch requests a month: 2 already" in third.text
    # A rejected request no longer counts; before the policy applies nothing is limited.
    assert decide(client, keys.hr, made[0].json()["id"], "reject").status_code == 200
    assert ask(client, keys.hr, emp, reason="#3", **MISSED).status_code == 201
    october = {**MISSED, "timestamp": "2026-10-27T09:05:00"}
    assert ask(client, keys.hr, emp, reason="oct", **october).status_code == 201
    # Other kinds are not limited by the missed-punch limit.
    overtime = ask(
        client, keys.hr, emp, kind="overtime", start_date=str(TUE), minutes=90, reason="release"
    )
    assert overtime.status_code == 201
    bad = client.patch(
        f"/policies/{ids['flex']}",
        json={"document": {**FLEX_DOC, "requests": {"per_month": {"missed_punch": -1}}}},
        headers=auth(keys.admin),
    )
    assert bad.status_code == 422 and "cannot be negative" in bad.text


def test_invalid_requests_are_refused(client, keys, store, now):
    emp, _ = setup_office(store, now)
    for body, field in [
        ({"kind": "missed_punch", "state": "in"}, "timestamp"),
        ({**MISSED, "state": ""}, "state"),
        ({**MISSED, "timestamp": "2026-12-24T09:00:00+01:00"}, "timestamp"),
        ({**MISSED, "timestamp": "2027-06-01T09:00:00"}, "timestamp"),  # site time, to come
        ({"kind": "leave", "leave_type": "nap", "start_date": str(TUE)}, "leave_type"),
        ({"kind": "overtime", "start_date": str(TUE)}, "minutes"),
        ({"kind": "shift_swap", "start_date": str(TUE)}, "other_employee_id"),
    ]:
        answer = ask(client, keys.hr, emp, reason="r", **body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text, (body, answer.text)
    assert ask(client, keys.hr, emp, reason="", **MISSED).status_code == 422


def test_approved_overtime_is_kept_for_the_day(client, keys, store, now):
    emp, _ = setup_office(store, now)
    made = ask(
        client, keys.hr, emp, kind="overtime", start_date=str(TUE), minutes=90, reason="release"
    ).json()
    with store.sessions() as s:
        assert approved_overtime(s, employee_ids=[emp], start=TUE, end=TUE) == {}
    assert decide(client, keys.manager, made["id"], "approve").json()["outcome"] == {"minutes": 90}
    with store.sessions() as s:
        assert approved_overtime(s, employee_ids=[emp], start=TUE, end=TUE) == {(emp, TUE): 90}
    shown = client.get(
        "/reports/employee-day",
        params={"employee_id": emp, "date": str(TUE)},
        headers=auth(keys.viewer),
    )
    assert shown.json()["result"]["approved_overtime_minutes"] == 90


def test_a_department_manager_sees_and_decides_only_its_department(client, keys, store, now):
    h = auth(keys.admin)
    assert client.post("/departments", json={"code": "ENG", "name": "Eng"}, headers=h).is_success
    ops = client.post("/employees", json={"code": "5001", "department": "OPS"}, headers=h).json()
    eng = client.post("/employees", json={"code": "5002", "department": "ENG"}, headers=h).json()
    body = {"kind": "overtime", "start_date": str(TUE), "minutes": 30, "reason": "r"}
    mine = ask(client, keys.hr, ops["id"], **body).json()
    theirs = ask(client, keys.hr, eng["id"], **body).json()
    m = auth(keys.scoped_manager)
    listed = client.get("/requests", params={"state": "pending"}, headers=m)
    assert [r["id"] for r in listed.json()] == [mine["id"]]
    assert client.get("/requests", params={"department": "ENG"}, headers=m).json() == []
    assert client.get(f"/requests/{theirs['id']}", headers=m).status_code == 404
    assert decide(client, keys.scoped_manager, theirs["id"], "approve").status_code == 404
    assert decide(client, keys.scoped_manager, theirs["id"], "reject").status_code == 404
    assert decide(client, keys.scoped_manager, mine["id"], "approve").status_code == 200
    # A manager decides; it does not ask, correct punches or read the audit log.
    assert ask(client, keys.scoped_manager, ops["id"], **body).status_code == 403
    assert client.get("/audit", headers=m).status_code == 403
    assert client.get("/requests", headers=auth(keys.scoped_viewer)).status_code == 403
    # Unscoped hr sees both, filtered by department or employee.
    everyone = client.get("/requests", headers=auth(keys.hr)).json()
    assert {r["id"] for r in everyone} == {mine["id"], theirs["id"]}
    by_dept = client.get("/requests", params={"department": "ENG"}, headers=auth(keys.hr))
    assert [r["id"] for r in by_dept.json()] == [theirs["id"]]
    by_emp = client.get("/requests", params={"employee_id": ops["id"]}, headers=auth(keys.hr))
    assert [r["id"] for r in by_emp.json()] == [mine["id"]]
    by_state = client.get("/requests", params={"state": "approved", "kind": "overtime"}, headers=h)
    assert [r["id"] for r in by_state.json()] == [mine["id"]]


def test_a_manager_key_may_be_scoped_an_admin_key_not(client, keys):
    made = client.post(
        "/api-keys",
        json={"name": "eng-lead", "role": "manager", "department": "OPS"},
        headers=auth(keys.admin),
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "manager"


def test_a_decision_is_announced_once_in_its_transaction(client, keys, store, now):
    emp, _ = setup_office(store, now)
    add_webhook(store, "http://127.0.0.1:9/hook", now, events=[EventType.REQUEST_DECIDED])
    made = ask(client, keys.hr, emp, reason="terminal was down", **MISSED).json()
    cancelled = ask(client, keys.hr, emp, reason="dup", **MISSED).json()
    assert decide(client, keys.hr, cancelled["id"], "cancel").status_code == 200
    with store.sessions() as s:
        assert s.scalar(select(func.count(OutboxMessage.id))) == 0  # asking and cancelling
    assert decide(client, keys.hr, made["id"], "approve", "ok").status_code == 200
    assert decide(client, keys.hr, made["id"], "approve").status_code == 409
    with store.sessions() as s:
        [msg] = s.scalars(select(OutboxMessage)).all()
        punch_id = s.scalar(select(Punch.id).where(Punch.source_kind == "manual"))
    body = json.loads(str(msg.payload))
    check_schema(body)
    assert (msg.event_type, msg.subject) == ("request.decided", "1001")
    assert body["data"]["state"] == "approved" and body["data"]["comment"] == "ok"
    assert body["data"]["outcome"] == {"punch_id": punch_id}
    rejected = ask(client, keys.hr, emp, reason="again", **MISSED).json()
    assert decide(client, keys.hr, rejected["id"], "reject", "no").status_code == 200
    with store.sessions() as s:
        bodies = [json.loads(str(p)) for p in s.scalars(select(OutboxMessage.payload))]
    for b in bodies:
        check_schema(b)
    assert [b["data"]["state"] for b in bodies] == ["approved", "rejected"]
    with store.sessions() as s:
        assert s.scalar(select(func.count(EmployeeRequest.id))) == 3


def test_a_policy_counting_only_approved_overtime_caps_the_day(client, keys, store, now):
    emp, ids = setup_office(store, now)
    with store.sessions.begin() as s:
        s.get_one(Policy, ids["flex"]).document = {
            **FLEX_DOC,
            "requests": {"overtime_needs_approval": True},
        }
    punches(store, now, (TUE, "08:00", 0), (TUE, "19:00", 1))  # 11 h less 45 min break
    process_dirty(store.engine, now=now)
    before = day_row(store, emp, TUE)
    assert before.overtime == {}
    texts = [d["text"] for d in before.explanation if d["rule"] == "overtime"]
    assert "none approved, 2:15 h not counted" in texts[-1]
    made = ask(
        client, keys.hr, emp, kind="overtime", start_date=str(TUE), minutes=60, reason="release"
    ).json()
    assert decide(client, keys.hr, made["id"], "approve").status_code == 200
    process_dirty(store.engine, now=now)  # the approval marked the day
    after = day_row(store, emp, TUE)
    assert after.overtime == {"regular": 3600}
    assert after.explanation[-2]["outcome"] == "unapproved"
    assert (
        "approved in advance 1:00 h; 1:15 h beyond it not counted" in after.explanation[-2]["text"]
    )
    assert (
        after.worked_s == before.worked_s
    )  # worked time is what it was; only overtime counts less


def test_the_attendance_summary_splits_approved_from_unapproved_overtime(client, keys, store, now):
    emp, _ = setup_office(store, now)
    punches(store, now, (TUE, "08:00", 0), (TUE, "19:00", 1))  # 2:15 h beyond the 8 h target
    made = ask(
        client, keys.hr, emp, kind="overtime", start_date=str(TUE), minutes=60, reason="release"
    ).json()
    assert decide(client, keys.hr, made["id"], "approve").status_code == 200
    # More approved than worked on another day counts only what was worked: none here.
    wed = ask(
        client, keys.hr, emp, kind="overtime", start_date="2026-11-25", minutes=30, reason="r"
    )
    assert decide(client, keys.hr, wed.json()["id"], "approve").status_code == 200
    process_dirty(store.engine, now=now)
    got = client.get(
        "/reports/attendance",
        params={"from": str(TUE), "to": "2026-11-25"},
        headers=auth(keys.viewer),
    )
    (row,) = got.json()["rows"]
    assert row["overtime_regular_hours"] == 2.25
    assert (row["overtime_approved_hours"], row["overtime_unapproved_hours"]) == (1.0, 1.25)
