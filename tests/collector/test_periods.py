"""Closing pay periods on the real store: checklist, freeze, adjustments, carry, reopen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from collector.days import process_dirty, recompute_range
from collector.errors import Conflict, InvalidInput
from collector.masterdata.scope import Scope
from collector.periods.close import CloseBlocked, checklist, close_period, reopen_period
from collector.periods.payroll import payroll_figures, profiles, shape
from collector.reports.attendance import attendance_summary
from collector.store.models import (
    AttendanceDay,
    AuditLog,
    DayAdjustment,
    Device,
    EmployeeRequest,
    PayCalendar,
    Quarantine,
)
from tests.collector.test_days import day_row, punches, setup_office

WEEK1 = date(2026, 11, 2)  # Monday; the weekly calendar's periods start on Mondays
WEEK2 = date(2026, 11, 9)
WED1 = date(2026, 11, 4)


def weekly(store, now):
    with store.sessions.begin() as s:
        s.add(
            PayCalendar(code="weekly", name="Weekly", kind="weekly", anchor=WEEK1, created_at=now)
        )


def office_weeks(store, now):
    """Employee 1001 with a full first week (Mon 3 Nov absent) and a weekly pay calendar."""
    emp, _ = setup_office(store, now)
    days = [WEEK1 + timedelta(days=i) for i in range(1, 5)] + [
        WEEK2 + timedelta(days=i) for i in range(5)
    ]
    punches(store, now, *[x for d in days for x in ((d, "08:30", 0), (d, "17:00", 1))])
    process_dirty(store.engine, now=now)
    weekly(store, now)
    return emp


def close(store, now, start, **overrides):
    with store.sessions.begin() as s:
        period, found = close_period(
            s, "weekly", start, actor="hr:test", now=now, overrides=overrides
        )
        return period.id, found


def test_a_period_with_provisional_days_cannot_close_even_when_overridden(store, now):
    office_weeks(store, now)
    this_week = date(2026, 11, 23)  # holds today, whose punch window is still open
    with pytest.raises(CloseBlocked) as err:
        close(store, now, this_week, terminals_behind="accepted")
    assert "provisional_days" in [e["field"] for e in err.value.errors]
    with pytest.raises(InvalidInput, match="cannot override provisional_days"):
        close(store, now, this_week, provisional_days="please")


def test_incomplete_days_block_until_overridden_with_a_reason_and_the_override_is_audited(
    store, now
):
    emp = office_weeks(store, now)
    punches(store, now, (WEEK1, "09:00", 0))  # Monday: a lone in
    process_dirty(store.engine, now=now)
    with pytest.raises(CloseBlocked) as err:
        close(store, now, WEEK1)
    assert err.value.checklist.items["incomplete_days"]["examples"] == [
        {"employee_id": emp, "date": "2026-11-02"}
    ]
    _, found = close(store, now, WEEK1, incomplete_days="a one-off; checked with the team lead")
    assert found.items["incomplete_days"]["count"] == 1
    with store.sessions() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "pay_period")).one()
    assert entry.action == "close" and "team lead" in entry.reason
    assert entry.details["days_frozen"] == 7


def test_a_late_punch_on_a_closed_day_becomes_an_adjustment_carried_into_the_next_close(store, now):
    emp = office_weeks(store, now)
    first, _ = close(store, now, WEEK1)
    before = day_row(store, emp, WED1)
    # Wednesday's evening: the employee came back 18:00–20:00 (a punch pair found late).
    punches(store, now, (WED1, "18:00", 0), (WED1, "20:00", 1))
    process_dirty(store.engine, now=now)
    after = day_row(store, emp, WED1)
    assert (after.worked_s, after.computed_at) == (before.worked_s, before.computed_at)
    with store.sessions() as s:
        adj = s.scalars(select(DayAdjustment)).one()
    assert adj.period_id == first and adj.carried_period_id is None
    # Two more hours, and the 30-min automatic deduction goes: the hour between is a break.
    assert adj.delta["worked_s"] == 2 * 3600 + 30 * 60
    assert adj.cause.startswith("2 punches added since the close")
    # Recomputing again records nothing new: the difference is already accounted for.
    process_dirty(store.engine, now=now)
    recompute_range(store.engine, WEEK1, WEEK1 + timedelta(days=6), now=now)
    with store.sessions() as s:
        assert len(s.scalars(select(DayAdjustment)).all()) == 1
    second, found = close(store, now, WEEK2)
    assert found.adjustments_to_carry == 1
    with store.sessions() as s:
        assert s.get(DayAdjustment, adj.id).carried_period_id == second
    with store.engine.connect() as conn:
        rows = {r["employee_code"]: r for r in payroll_figures(conn, second)}
    assert rows["1001"]["adjustment_worked_hours"] == 2 * 3600 + 30 * 60
    assert rows["1001"]["adjustment_count"] == 1


def test_reopen_says_what_changes_then_folds_the_adjustment_back_into_the_day(store, now):
    emp = office_weeks(store, now)
    first, _ = close(store, now, WEEK1)
    before = day_row(store, emp, WED1)
    punches(store, now, (WED1, "18:00", 0), (WED1, "20:00", 1))
    process_dirty(store.engine, now=now)
    with store.sessions.begin() as s:
        with pytest.raises(InvalidInput, match="needs a reason"):
            reopen_period(s, first, actor="admin:test", reason=" ", now=now)
        plan = reopen_period(s, first, actor="admin:test", reason="payroll not sent yet", now=now)
    assert plan.days == 7 and len(plan.folded) == 1
    delta = plan.folded[0]["delta"]["worked_s"]
    process_dirty(store.engine, now=now)
    with store.sessions() as s:
        assert s.scalars(select(DayAdjustment)).all() == []
    # The live day now counts the evening: exactly what the adjustment had carried.
    assert day_row(store, emp, WED1).worked_s == before.worked_s + delta
    # Closing again freezes the new figures; a second reopen of an earlier period is refused.
    again, _ = close(store, now, WEEK1)
    assert again == first
    close(store, now, WEEK2)
    with store.sessions.begin() as s, pytest.raises(Conflict, match="latest closed period"):
        reopen_period(s, first, actor="admin:test", reason="x", now=now)


def test_payroll_figures_equal_the_attendance_summary_of_the_period(store, now):
    from collector.store.models import Employee
    from collector.workforce.leave import LeaveInput, add_leave

    office_weeks(store, now)
    with store.sessions.begin() as s:  # Wednesday on annual leave, Thursday on a trip
        emp = s.scalars(select(Employee)).one()
        for kind, offset in (("annual", 2), ("business_trip", 3)):
            data = LeaveInput(kind, WEEK1 + timedelta(days=offset))
            add_leave(s, employee=emp, data=data, actor="hr", now=now)
    process_dirty(store.engine, now=now)
    pid, _ = close(store, now, WEEK1)
    end = WEEK1 + timedelta(days=6)
    with store.engine.connect() as conn:
        pay = {r["employee_code"]: r for r in payroll_figures(conn, pid)}
        summary = {
            r["employee_code"]: r
            for r in attendance_summary(conn, start=WEEK1, end=end, scope=Scope()).dicts()
        }
    assert pay.keys() == summary.keys() == {"1001"}
    p, s = pay["1001"], summary["1001"]
    assert round(p["worked_hours"] / 3600, 2) == s["worked_hours"]
    assert p["late_count"] == s["late_days"]
    assert p["absent_days"] == s["absent_days"] == 1  # Monday had no punch
    assert p["incomplete_days"] == s["incomplete_days"]
    assert (s["leave_days"], s["leave_annual_days"], s["business_trip_days"]) == (1, 1, 1)
    for name in ("leave_days", "business_trip_days", "leave_annual_days", "leave_sick_days"):
        assert p[name] == s[name]
    for cat in ("regular", "rest_day", "holiday"):
        name = {"regular": "weekday"}.get(cat, cat)
        assert round(p[f"overtime_{name}_hours"] / 3600, 2) == s[f"overtime_{cat}_hours"]
    with store.sessions() as s2:
        days = s2.scalars(
            select(AttendanceDay).where(AttendanceDay.local_date.between(WEEK1, end))
        ).all()
    assert p["target_hours"] == sum(d.target_s for d in days) > 0


def test_the_shipped_profiles_shape_wide_and_long_exports(store, now):
    office_weeks(store, now)
    pid, _ = close(store, now, WEEK1)
    shipped = profiles()
    assert {"generic-wide-en", "generic-wide-zh", "long-wage-types"} <= shipped.keys()
    with store.engine.connect() as conn:
        from collector.periods.payroll import period_of

        period, _ = period_of(conn, pid)
        zh = shape(payroll_figures(conn, pid), shipped["generic-wide-zh"], period)
        zh_rows = list(zh.dicts())
        long = shape(payroll_figures(conn, pid), shipped["long-wage-types"], period)
        long_rows = list(long.dicts())
    assert zh.columns[:2] == ("工号", "姓名") and zh_rows[0]["工号"] == "1001"
    worked = [r for r in long_rows if r["Lohnart"] == "1000"]
    assert len(worked) == 1 and worked[0]["Stunden"] == zh_rows[0]["实际工时"] > 0
    assert [r["Tage"] for r in long_rows if r["Lohnart"] == "3000"] == [1]
    assert all(r["Abrechnungszeitraum"] == "2026-11-02..2026-11-08" for r in long_rows)


def test_the_checklist_names_terminals_behind_and_open_quarantine(store, now):
    office_weeks(store, now)
    with store.sessions.begin() as s:
        s.add(Device(code="door-2", kind="push", serial="X1", reported_until=None))
        s.add(
            Quarantine(
                dedupe_key="bad-1",
                received_at=now,
                source_kind="push",
                device_code="X1",
                reason="bad line",
                raw="x",
            )
        )
    with store.sessions.begin() as s:
        cal = s.scalars(select(PayCalendar)).one()
        found = checklist(s, cal, WEEK1, now)
    assert found.items["terminals_behind"]["examples"] == [
        {"device": "door-2", "reported_until": None}
    ]
    assert found.items["open_quarantine"]["count"] == 1


def test_the_period_commands_close_export_and_reopen(store, now, db_url, tmp_path):
    from tests.helpers import run_cli

    setup_office(store, now)
    days = [WEEK1 + timedelta(days=i) for i in range(1, 5)]
    punches(
        store,
        now,
        (WEEK1, "09:00", 0),
        *[x for d in days for x in ((d, "08:30", 0), (d, "17:00", 1))],
    )
    process_dirty(store.engine, now=now)
    env = {"PUNCHGATE_DATABASE_URL": db_url}
    made = run_cli(
        "period", "calendar", "weekly", "--kind", "weekly", "--anchor", "2026-11-02", env=env
    )
    assert made.returncode == 0, made.stderr
    refused = run_cli("period", "close", "--calendar", "weekly", "--start", "2026-11-02", env=env)
    assert refused.returncode == 2
    assert "1 incomplete days (resolve or override)" in " ".join(refused.stderr.split())
    closed = run_cli(
        "period",
        "close",
        "--calendar",
        "weekly",
        "--start",
        "2026-11-02",
        "--override",
        "incomplete_days=Monday checked with the team",
        env=env,
    )
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert "period 1 closed" in closed.stderr
    out = tmp_path / "pay.csv"
    exported = run_cli(
        "period", "export", "1", "-o", str(out), "--profile", "generic-wide-zh", env=env
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    text = out.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and text.count(b"\xef\xbb\xbf") == 1
    assert text.decode("utf-8-sig").splitlines()[1].startswith("1001,")
    reopened = run_cli("period", "reopen", "1", "--reason", "sent too early", env=env)
    assert reopened.returncode == 0 and "7 days live again" in reopened.stderr


def test_leave_in_a_closed_period_is_paid_as_leave_and_a_late_entry_is_an_adjustment(store, now):
    from collector.store.models import Employee
    from collector.workforce.leave import LeaveInput, add_leave

    office_weeks(store, now)
    with store.sessions.begin() as s:
        emp = s.scalars(select(Employee)).one()
        add_leave(s, employee=emp, data=LeaveInput("annual", WEEK1), actor="hr", now=now)
    process_dirty(store.engine, now=now)
    first, _ = close(store, now, WEEK1)
    with store.engine.connect() as conn:
        [paid] = payroll_figures(conn, first)
    assert (paid["leave_days"], paid["leave_annual_days"], paid["absent_days"]) == (1, 1, 0)
    assert paid["leave_sick_days"] == 0
    # A sick day entered after the close, for the Tuesday worked in the closed week.
    with store.sessions.begin() as s:
        emp = s.scalars(select(Employee)).one()
        tue = WEEK1 + timedelta(days=1)
        add_leave(s, employee=emp, data=LeaveInput("sick", tue), actor="hr", now=now)
    process_dirty(store.engine, now=now)
    with store.sessions() as s:
        [adj] = s.scalars(select(DayAdjustment)).all()
    assert adj.delta["status"] == ["present", "leave:sick"]
    assert adj.cause.startswith("the day is now leave:sick (was present)")


def test_closing_announces_period_closed_to_subscribers_in_the_same_transaction(store, now):
    import json

    from collector.outbound.events import EventType
    from collector.store.models import OutboxMessage
    from tests.collector.outbound.test_outbox import check_schema
    from tests.outbound_support import add_webhook

    office_weeks(store, now)
    add_webhook(store, "http://127.0.0.1:9/hook", now, events=[EventType.PERIOD_CLOSED])
    with pytest.raises(CloseBlocked), store.sessions.begin() as s:
        close_period(s, "weekly", date(2026, 11, 23), actor="hr:test", now=now)
    with store.sessions() as s:
        assert s.scalars(select(OutboxMessage)).all() == []  # a refused close tells nobody
    pid, _ = close(store, now, WEEK1)
    with store.sessions() as s:
        [msg] = s.scalars(select(OutboxMessage)).all()
    body = json.loads(str(msg.payload))
    check_schema(body)
    assert body["data"]["period_id"] == pid and body["data"]["start"] == "2026-11-02"
    assert msg.event_type == "period.closed" and msg.subject == "weekly"


def test_pending_requests_in_the_period_hold_the_close_until_decided_or_overridden(store, now):
    from collector.normalize import NormalizePolicy
    from collector.store.models import Employee
    from collector.workforce.requests import RequestInput, create_request, decide
    from rules.requests import RequestAction, RequestKind

    emp = office_weeks(store, now)
    with store.sessions.begin() as s:
        employee = s.get_one(Employee, emp)
        made = [
            create_request(
                s,
                employee=employee,
                data=RequestInput(RequestKind.OVERTIME, "release", start_date=day, minutes=60),
                actor="hr:test",
                now=now,
                scope=Scope(),
                policy=NormalizePolicy(),
            ).id
            for day in (WED1, WEEK2)  # one in the first week, one in the next
        ]
    with store.sessions.begin() as s:
        found = checklist(s, s.scalars(select(PayCalendar)).one(), WEEK1, now)
    assert found.items["pending_requests"] == {
        "count": 1,
        "examples": [{"id": made[0], "employee_id": emp, "kind": "overtime", "date": "2026-11-04"}],
    }
    with pytest.raises(CloseBlocked) as err:
        close(store, now, WEEK1, incomplete_days="ok")
    assert "pending_requests" in [e["field"] for e in err.value.errors]
    with store.sessions.begin() as s:
        row = s.get_one(EmployeeRequest, made[0])
        decide(
            s,
            request=row,
            action=RequestAction.REJECT,
            comment="",
            actor="hr:test",
            now=now,
            scope=Scope(),
            policy=NormalizePolicy(),
        )
    _, found = close(store, now, WEEK1, incomplete_days="ok")
    assert found.items["pending_requests"]["count"] == 0
