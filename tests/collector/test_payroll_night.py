"""Night hours from the policy's night window: stored per day, summed into payroll exports."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from collector.days import assign_policy, process_dirty
from collector.periods.payroll import payroll_figures, period_of, profiles, shape
from collector.reports.employee_day import employee_day
from collector.store.models import AttendanceDay, DayAdjustment, Employee, Policy
from tests.collector.test_days import punches, setup_office
from tests.collector.test_periods import WEEK1, close, weekly
from tests.rules.helpers import NIGHT_DOC

H = 3600


def night_worker(store, now):
    """Employee 1001 on 22:00–06:00 nights with a 22:00–06:00 night window, week of 2 Nov."""
    emp, _ = setup_office(store, now)
    with store.sessions.begin() as s:
        paid = Policy(
            name="night-paid",
            kind="fixed",
            document={**NIGHT_DOC, "night": {"start": "22:00", "end": "06:00"}},
            updated_at=now,
        )
        s.add(paid)
        s.flush()
        assign_policy(s, employee_id=emp, policy_id=paid.id, effective_from=WEEK1, today=now.date())
    mon, tue, wed, thu = (WEEK1 + timedelta(days=i) for i in range(4))
    punches(
        store,
        now,
        *[(d, "22:00", 0) for d in (mon, tue, wed)],
        *[(d + timedelta(days=1), "06:00", 1) for d in (mon, tue, wed)],
        (thu, "21:00", 0),  # an hour early: not counted before the shift's start
        (thu + timedelta(days=1), "03:00", 1),  # left early: five hours of night
    )
    process_dirty(store.engine, now=now)
    weekly(store, now)
    return emp


def test_days_store_their_night_time(store, now):
    emp = night_worker(store, now)
    with store.sessions() as s:
        rows = s.scalars(
            select(AttendanceDay)
            .where(AttendanceDay.employee_id == emp)
            .where(AttendanceDay.local_date.between(WEEK1, WEEK1 + timedelta(days=6)))
            .order_by(AttendanceDay.local_date)
        ).all()
    assert [r.night_s for r in rows] == [8 * H, 8 * H, 8 * H, 5 * H, 0, 0, 0]
    thursday = rows[3]
    assert (thursday.worked_s, thursday.early_leave_s) == (5 * H, 3 * H)
    texts = [d["text"] for d in thursday.explanation if d["rule"] == "night"]
    assert texts == ["night work 5 h: counted time between 22:00–06:00"]
    with store.sessions() as s:
        shown = employee_day(
            s, emp=s.get(Employee, emp), day=thursday.local_date, default_tz="UTC"
        ).summary()
    assert shown["night_minutes"] == 300


def test_payroll_night_hours_are_the_sum_of_the_days(store, now):
    emp = night_worker(store, now)
    pid, _ = close(store, now, WEEK1)
    with store.engine.connect() as conn:
        (fig,) = payroll_figures(conn, pid)
        period, _ = period_of(conn, pid)
        shipped = profiles()
        wide = list(shape(payroll_figures(conn, pid), shipped["generic-wide-en"], period).dicts())
        zh = list(shape(payroll_figures(conn, pid), shipped["generic-wide-zh"], period).dicts())
        long = list(shape(payroll_figures(conn, pid), shipped["long-wage-types"], period).dicts())
    with store.sessions() as s:
        days = s.scalars(
            select(AttendanceDay.night_s).where(
                AttendanceDay.employee_id == emp,
                AttendanceDay.local_date.between(period.start, period.end),
            )
        ).all()
    assert fig["night_hours"] == sum(days) == 29 * H
    assert wide[0]["Night hours"] == zh[0]["夜间工时"] == 29.0
    assert [r["Stunden"] for r in long if r["Lohnart"] == "1400"] == [29.0]


def test_a_policy_without_night_window_exports_zero_night_hours(store, now):
    setup_office(store, now)
    punches(
        store,
        now,
        *[
            (WEEK1 + timedelta(days=i), t, s)
            for i in range(5)
            for t, s in (("08:30", 0), ("17:00", 1))
        ],
    )
    process_dirty(store.engine, now=now)
    weekly(store, now)
    pid, _ = close(store, now, WEEK1)
    with store.engine.connect() as conn:
        (fig,) = payroll_figures(conn, pid)
        period, _ = period_of(conn, pid)
        long = list(
            shape(payroll_figures(conn, pid), profiles()["long-wage-types"], period).dicts()
        )
    assert fig["night_hours"] == 0 and fig["worked_hours"] > 0
    assert not [r for r in long if r["Lohnart"] == "1400"]  # a zero figure has no row


def test_night_found_after_the_close_is_carried_as_an_adjustment(store, now):
    night_worker(store, now)
    close(store, now, WEEK1)
    fri = WEEK1 + timedelta(days=4)  # no punches when the week closed: absent
    punches(store, now, (fri, "22:00", 0), (fri + timedelta(days=1), "06:00", 1))
    process_dirty(store.engine, now=now)
    with store.sessions() as s:
        adj = s.scalars(select(DayAdjustment)).one()
    assert adj.delta["night_s"] == 8 * H and adj.delta["worked_s"] == 8 * H
    second, _ = close(store, now, WEEK1 + timedelta(days=7))
    with store.engine.connect() as conn:
        (fig,) = payroll_figures(conn, second)
        period, _ = period_of(conn, second)
        long = list(
            shape(payroll_figures(conn, second), profiles()["long-wage-types"], period).dicts()
        )
    assert fig["adjustment_night_hours"] == 8 * H and fig["night_hours"] == 0
    assert [r["Stunden"] for r in long if r["Lohnart"] == "1490"] == [8.0]
