"""Roster adherence per employee: rostered shifts kept, missed and worked off the roster.

A computed day names the shift it was measured against as its first explanation step
(rule `roster`: outcome `shift`, `rest` or `auto` for an auto-chosen shift), so the report
reads what the engine decided rather than resolving the roster a second way. Days without
that step (no roster in force) are not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from collector.masterdata.scope import Scope
from collector.reports.common import WORKED, Report, check_period, count_if, minutes
from collector.store.models import AttendanceDay, Department, Employee
from rules.vocabulary import DayStatus

A, E, D = AttendanceDay, Employee, Department
COLUMNS = (
    "employee_id",
    "employee_code",
    "name",
    "department",
    "rostered_shift_days",
    "rostered_rest_days",
    "auto_shift_days",
    "kept_shift_days",  # a rostered shift worked without lateness or early leave
    "late_days",
    "late_minutes",
    "early_leave_days",
    "early_leave_minutes",
    "absent_shift_days",
    "leave_shift_days",
    "worked_rest_days",  # worked on a day the roster said rest: off-roster work
    "adherence_rate",  # kept shift days / rostered shift days decided, leave aside
)


def roster_adherence(conn: Connection, *, start: date, end: date, scope: Scope) -> Report:
    """One row per employee with a rostered day in the period, by employee code."""
    check_period(start, end)
    rule = A.explanation[(0, "rule")].as_string()
    outcome = A.explanation[(0, "outcome")].as_string()
    shift = outcome.in_(("shift", "auto"))
    worked = A.status.in_([s.value for s in WORKED])
    inner = (
        select(
            A.employee_id.label("employee_id"),
            count_if(outcome == "shift").label("shift_days"),
            count_if(outcome == "rest").label("rest_days"),
            count_if(outcome == "auto").label("auto_days"),
            count_if(shift & worked & (A.late_s == 0) & (A.early_leave_s == 0)).label("kept"),
            count_if(shift & (A.late_s > 0)).label("late_days"),
            func.coalesce(func.sum(A.late_s), 0).label("late"),
            count_if(shift & (A.early_leave_s > 0)).label("early_days"),
            func.coalesce(func.sum(A.early_leave_s), 0).label("early"),
            count_if(shift & (A.status == DayStatus.ABSENT.value)).label("absent"),
            count_if(shift & A.status.like("leave:%")).label("leave"),
            count_if((outcome == "rest") & (A.worked_s > 0)).label("worked_rest"),
            count_if(
                shift & (A.status != DayStatus.PROVISIONAL.value) & ~A.status.like("leave:%")
            ).label("due"),
        )
        .where(A.local_date >= start, A.local_date <= end, rule == "roster")
        .group_by(A.employee_id)
    )
    g = scope.restrict(inner, A.employee_id).subquery()
    measures = [c for c in g.c if c.name != "employee_id"]
    query = (
        select(E.id, E.code, E.name, D.code, *measures)
        .select_from(g)
        .join(E, E.id == g.c.employee_id)
        .outerjoin(D, D.id == E.department_id)
        .order_by(E.code)
    )
    return Report(
        name="roster-adherence",
        columns=COLUMNS,
        rows=_shape(conn.execute(query)),
        meta={"from": start.isoformat(), "to": end.isoformat()},
    )


def _shape(rows: Any) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        emp, code, name, dept, shift, rest, auto, kept, late_n, late, early_n, early = row[:12]
        absent, leave, worked_rest, due = row[12:]
        rate = round(int(kept or 0) / int(due), 3) if due else None
        yield (
            emp,
            code,
            name,
            dept,
            int(shift or 0),
            int(rest or 0),
            int(auto or 0),
            int(kept or 0),
            int(late_n or 0),
            minutes(late),
            int(early_n or 0),
            minutes(early),
            int(absent or 0),
            int(leave or 0),
            int(worked_rest or 0),
            rate,
        )
