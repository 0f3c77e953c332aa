"""Department statistics by ISO week: punch rate and lateness rate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, case, cast, func, literal_column, select

from collector.masterdata.scope import Scope
from collector.reports.common import NOT_EXPECTED, WORKED, Report, check_period, count_if
from collector.store.models import AttendanceDay, Department, Employee

A, E, D = AttendanceDay, Employee, Department
COLUMNS = (
    "department",
    "department_name",
    "week",
    "week_start",
    "expected_employees",
    "punched_employees",
    "punch_rate",
    "days_worked",
    "late_days",
    "lateness_rate",
)


def week_start(dialect: str) -> ColumnElement[Any]:
    """The Monday of the ISO week of attendance_days.local_date, per dialect."""
    if dialect == "sqlite":
        return literal_column(
            "date(attendance_days.local_date, '-' || ((CAST(strftime('%w', "
            "attendance_days.local_date) AS INTEGER) + 6) % 7) || ' days')"
        )
    return cast(func.date_trunc("week", A.local_date), Date)


def department_stats(conn: Connection, *, start: date, end: date, scope: Scope) -> Report:
    """Per department and ISO week: who was expected, who punched, who was late."""
    check_period(start, end)
    week = week_start(conn.dialect.name).label("week_start")
    expected = A.status.not_in([s.value for s in NOT_EXPECTED])
    punched = A.first_in.is_not(None) | A.last_out.is_not(None)
    query = (
        select(
            func.coalesce(D.code, ""),
            func.coalesce(D.name, ""),
            week,
            func.count(func.distinct(case((expected, A.employee_id)))),
            func.count(func.distinct(case((punched, A.employee_id)))),
            count_if(A.status.in_([s.value for s in WORKED])),
            count_if(A.late_s > 0),
        )
        .select_from(A)
        .join(E, E.id == A.employee_id)
        .outerjoin(D, D.id == E.department_id)
        .where(A.local_date >= start, A.local_date <= end)
        .group_by(D.code, D.name, week)
        .order_by(D.code, week)
    )
    rows = conn.execute(scope.restrict(query))
    return Report(
        name="department-stats",
        columns=COLUMNS,
        rows=_shape(rows),
        meta={"from": start.isoformat(), "to": end.isoformat()},
    )


def _shape(rows: Any) -> Iterator[tuple[Any, ...]]:
    for code, name, monday, expected, punched, worked, late in rows:
        first = monday if isinstance(monday, date) else date.fromisoformat(str(monday)[:10])
        iso = (first + timedelta(days=3)).isocalendar()  # Thursday names the ISO week
        yield (
            code,
            name,
            f"{iso.year}-W{iso.week:02d}",
            first.isoformat(),
            int(expected or 0),
            int(punched or 0),
            round(punched / expected, 4) if expected else 0.0,
            int(worked or 0),
            int(late or 0),
            round(late / worked, 4) if worked else 0.0,
        )
