"""Rosters on the real store: rostered days recomputed, and changes keep days current."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from collector.days import assign_policy, process_dirty, recompute_range
from collector.masterdata.scope import Scope
from collector.store.ingest import ingest_batch
from collector.store.models import (
    AttendanceDay,
    Department,
    DirtyDay,
    Employee,
    Policy,
    RosterAssignment,
    Site,
)
from collector.workforce import rosters
from tests.factories import add_employee, raw_punch
from tests.rules.helpers import FIXED_DOC

START = date(2026, 11, 2)  # a Monday
END = date(2026, 11, 15)
EVERYONE = Scope()
SHIFTS = [
    {
        "code": "E",
        "name": "Early",
        "shift": {"start": "06:00", "end": "14:00", "grace_late_min": 5},
    },
    {"code": "L", "name": "Late", "shift": {"start": "14:00", "end": "22:00", "grace_late_min": 5}},
    {
        "code": "N",
        "name": "Night",
        "shift": {"start": "22:00", "end": "06:00", "grace_late_min": 5, "checkout_after_min": 240},
    },
]
CODES = ["E", "L", "N", "-"]


def setup_factory(store, now) -> dict[str, Any]:
    """A Berlin factory department of two under an office policy, shift types and patterns."""
    with store.sessions.begin() as s:
        site = Site(code="plant", name="Plant", timezone="Europe/Berlin", country="DE")
        dept = Department(code="FAC", name="Factory")
        s.add_all([site, dept])
        s.flush()
        office = Policy(name="office", kind="fixed", document=FIXED_DOC, updated_at=now)
        s.add(office)
        s.flush()
        emps = []
        for code in ("2001", "2002"):
            emp = add_employee(s, code, now, site_id=site.id, department_id=dept.id)
            assign_policy(
                s, employee_id=emp.id, policy_id=office.id, effective_from=START, today=now.date()
            )
            emps.append(emp.id)
        for doc in SHIFTS:
            rosters.create_shift_type(s, scope=EVERYONE, document=doc, now=now)
        patterns = [
            rosters.create_pattern(
                s,
                scope=EVERYONE,
                values={"name": name, "kind": "cycle", "codes": codes, "anchor": START},
                now=now,
            ).id
            for name, codes in (("rota", "E E L L N N - -"), ("nights", "N N N N - - - -"))
        ]
        department = s.get(Department, dept.id)
        assert department is not None
        rosters.assign_pattern(
            s,
            department=department,
            pattern_id=patterns[0],
            effective_from=START,
            effective_to=None,
        )
        return {"emps": emps, "dept": dept.id, "patterns": patterns}


def shift_punches(store, now, code: str, days: list[date], start: str, hours: int = 8) -> None:
    """In at `start` and out `hours` later (Berlin wall time) on each day."""
    batch = []
    for day in days:
        t0 = datetime.combine(day, time.fromisoformat(start))
        batch += [
            raw_punch(code, t0, state=0),
            raw_punch(code, t0 + timedelta(hours=hours), state=1),
        ]
    ingest_batch(store.engine, batch, now=now, policy=store.policy)


def days_of(store, emp: int | None = None) -> dict[tuple[int, date], tuple[Any, ...]]:
    with store.sessions() as s:
        q = select(AttendanceDay).where(
            AttendanceDay.local_date >= START, AttendanceDay.local_date <= END
        )
        if emp is not None:
            q = q.where(AttendanceDay.employee_id == emp)
        return {
            (d.employee_id, d.local_date): (
                d.status,
                d.worked_s,
                d.late_s,
                d.early_leave_s,
                d.target_s,
                d.first_in,
                d.last_out,
                d.overtime,
                d.explanation,
            )
            for d in s.scalars(q)
        }


def test_a_rostered_night_worker_is_on_time_and_the_day_says_why(store, now):
    f = setup_factory(store, now)
    emp = f["emps"][0]
    # The rota: E on 2–3 Nov, L on 4–5, N on 6–7, rest 8–9.
    shift_punches(store, now, "2001", [date(2026, 11, 6), date(2026, 11, 7)], "21:58")
    shift_punches(store, now, "2001", [date(2026, 11, 4)], "14:10")
    recompute_range(store.engine, START, END, now=now)
    days = days_of(store, emp)
    night = days[(emp, date(2026, 11, 6))]
    # 21:58 to 05:58: counted from the shift start, 2 min early leave, no lateness.
    assert night[:5] == ("present", 8 * 3600 - 2 * 60, 0, 2 * 60, 8 * 3600)
    assert night[8][0]["text"] == (
        "rostered N (Night, 22:00–06:00): the department's pattern 'rota' from 2026-11-02, "
        "day 5 of 8"
    )
    late = days[(emp, date(2026, 11, 4))]
    assert late[0] == "late" and late[2] == 10 * 60
    # A Saturday night shift: the punches after midnight are the Saturday's, the Sunday rests.
    sat, sun = days[(emp, date(2026, 11, 7))], days[(emp, date(2026, 11, 8))]
    assert sat[0] == "present" and sun[0] == "rest_day" and sun[1] == 0
    # Rostered E on Monday without punches: absent against the early shift's target.
    assert days[(emp, START)][0] == "absent"


def test_a_day_entry_marks_the_day_and_its_neighbours_and_recomputes(store, now):
    f = setup_factory(store, now)
    emp = f["emps"][0]
    shift_punches(store, now, "2001", [date(2026, 11, 8)], "22:00")  # a rest day on the rota
    recompute_range(store.engine, START, END, now=now)
    assert days_of(store, emp)[(emp, date(2026, 11, 8))][0] == "rest_day"
    with store.sessions.begin() as s:
        s.execute(delete(DirtyDay))
        employee = s.get(Employee, emp)
        rosters.set_day(s, employee=employee, day=date(2026, 11, 8), code="N", note="swap")
    with store.sessions() as s:
        marked = {(d.employee_id, d.local_date) for d in s.scalars(select(DirtyDay))}
    assert marked == {(emp, date(2026, 11, d)) for d in (7, 8, 9)}
    process_dirty(store.engine, now=now)
    day = days_of(store, emp)[(emp, date(2026, 11, 8))]
    assert day[0] == "present" and day[8][0]["text"].endswith("a roster entry for this day")


def test_unknown_codes_and_cross_department_assignments_are_refused(store, now):
    from collector.errors import InvalidInput, NotFound, PermissionDenied

    f = setup_factory(store, now)
    with store.sessions.begin() as s:
        employee = s.get(Employee, f["emps"][0])
        with pytest.raises(InvalidInput, match="unknown shift code 'Q'"):
            rosters.set_day(s, employee=employee, day=START, code="Q", note="")
        with pytest.raises(PermissionDenied):
            rosters.create_shift_type(
                s, scope=Scope(department_id=999), document=SHIFTS[0], now=now
            )
        with pytest.raises(NotFound):
            rosters.department_in_scope(s, Scope(department_id=999), f["dept"])


OPS = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 1), st.integers(0, 13), st.sampled_from(CODES)),
    st.tuples(st.just("clear"), st.integers(0, 1), st.integers(0, 13)),
    st.tuples(st.just("assign"), st.integers(0, 1), st.integers(-3, 13), st.integers(0, 1)),
    st.tuples(st.just("unassign"), st.integers(0, 5)),
    st.tuples(st.just("pattern"), st.lists(st.sampled_from(CODES), min_size=1, max_size=8)),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=5))
def test_any_roster_change_then_recompute_equals_computing_from_scratch(store, now, ops):
    with store.sessions() as s:
        ready = s.scalar(select(Department.id).where(Department.code == "FAC"))
    if ready is None:
        setup_factory(store, now)
        month = [START + timedelta(days=i) for i in range(14)]
        shift_punches(store, now, "2001", month, "21:57")
        shift_punches(store, now, "2002", month, "06:03", hours=9)
        recompute_range(store.engine, START, END, now=now)
        process_dirty(store.engine, now=now)
    with store.sessions() as s:
        emps = list(s.scalars(select(Employee.id).order_by(Employee.id)))
        patterns = [
            p.id for p in sorted(rosters.list_patterns(s), key=lambda p: p.name, reverse=True)
        ]
    with store.sessions.begin() as s:
        for op in ops:
            apply_op(s, op, emps, patterns, now)
    process_dirty(store.engine, now=now)
    incremental = days_of(store)
    with store.sessions.begin() as s:
        s.execute(delete(AttendanceDay))
    recompute_range(store.engine, START, END, now=now)
    assert days_of(store) == incremental


def apply_op(s, op: tuple[Any, ...], emps: list[int], patterns: list[int], now) -> None:
    kind = op[0]
    if kind == "set":
        rosters.set_day(
            s,
            employee=s.get(Employee, emps[op[1]]),
            day=START + timedelta(op[2]),
            code=op[3],
            note="",
        )
    elif kind == "clear":
        employee = s.get(Employee, emps[op[1]])
        day = START + timedelta(op[2])
        if any(r.local_date == day for r in _entries(s, employee.id)):
            rosters.clear_day(s, employee=employee, day=day)
    elif kind == "assign":
        rosters.assign_pattern(
            s,
            employee=s.get(Employee, emps[op[1]]),
            pattern_id=patterns[op[3]],
            effective_from=START + timedelta(op[2]),
            effective_to=None,
        )
    elif kind == "unassign":
        rows = list(s.scalars(select(RosterAssignment).order_by(RosterAssignment.id)))
        if rows:
            rosters.delete_assignment(s, row=rows[op[1] % len(rows)])
    else:
        rosters.update_pattern(
            s, scope=EVERYONE, pattern_id=patterns[1], values={"codes": op[1]}, now=now
        )


def _entries(s, employee_id: int) -> list[Any]:
    from collector.store.models import RosterDay

    return list(s.scalars(select(RosterDay).where(RosterDay.employee_id == employee_id)))
