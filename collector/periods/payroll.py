"""Payroll figures of a closed period per employee, shaped by an export profile (data)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from collector.days.frozen import apply, nothing
from collector.errors import InvalidInput, NotFound
from collector.reports.common import Report, count_if
from collector.store.models import (
    AttendanceDay,
    ClosedDay,
    DayAdjustment,
    Department,
    Employee,
    PayCalendar,
    PayPeriod,
)
from rules.leavetypes import LEAVE_TYPES, TRIP_TYPES
from rules.vocabulary import DayStatus, OvertimeCategory

A, C, E, D = AttendanceDay, ClosedDay, Employee, Department
LEAVE_PREFIX = "leave:"
# Each payroll figure and its unit: seconds are shown as hours, counts and days as numbers.
FIGURES: dict[str, str] = {
    "target_hours": "seconds",
    "worked_hours": "seconds",
    "overtime_weekday_hours": "seconds",
    "overtime_rest_day_hours": "seconds",
    "overtime_holiday_hours": "seconds",
    "night_hours": "seconds",  # counted time inside the policy's night window
    "late_count": "count",
    "late_minutes": "minutes",
    "early_leave_count": "count",
    "early_leave_minutes": "minutes",
    "absent_days": "days",
    "incomplete_days": "days",
    "leave_days": "days",
    # Days of each leave type (leave_annual_days, leave_sick_days…), trips included.
    **{f"leave_{code}_days": "days" for code in LEAVE_TYPES},
    "business_trip_days": "days",
    "balance_change_hours": "seconds",
    "adjustment_worked_hours": "seconds",
    "adjustment_overtime_hours": "seconds",
    "adjustment_night_hours": "seconds",
    "adjustment_late_minutes": "minutes",
    "adjustment_absent_days": "days",
    "adjustment_count": "count",
}
IDENTITY = ("employee_code", "name", "department", "period_start", "period_end")
_OVERTIME = {
    "overtime_weekday_hours": OvertimeCategory.REGULAR.value,
    "overtime_rest_day_hours": OvertimeCategory.REST_DAY.value,
    "overtime_holiday_hours": OvertimeCategory.HOLIDAY.value,
}


@dataclass(frozen=True)
class Profile:
    """How one payroll system wants the figures: columns, units, layout, encoding."""

    name: str
    layout: str  # wide: a row per employee; long: a row per employee and wage type
    columns: list[dict[str, str]]  # field and header, in order
    hours: str = "decimal"  # decimal (7.5) or hmm (7:30)
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    wage_types: dict[str, str] = field(default_factory=dict)  # figure → wage-type code (long)
    title: str = ""


def profiles(extra_dir: Path | None = None) -> dict[str, Profile]:
    """The shipped profiles, and those in `extra_dir` (a file there replaces a shipped one)."""
    out: dict[str, Profile] = {}
    shipped = resources.files("collector.periods") / "profiles"
    files = [p for p in shipped.iterdir() if p.name.endswith(".json")]
    if extra_dir is not None and extra_dir.is_dir():
        files += sorted(extra_dir.glob("*.json"))
    for path in sorted(files, key=lambda p: p.name):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["name"]] = load_profile(data)
    return out


def load_profile(data: dict[str, Any]) -> Profile:
    """A profile from its JSON document, checked against the figures that exist."""
    known = {*IDENTITY, *FIGURES, "period", "wage_type", "value", "unit", "hours", "days"}
    try:
        profile = Profile(**data)
    except TypeError as exc:
        raise InvalidInput(f"payroll profile: {exc}") from None
    if profile.layout not in ("wide", "long"):
        raise InvalidInput(f"payroll profile {profile.name}: layout is wide or long")
    if profile.hours not in ("decimal", "hmm"):
        raise InvalidInput(f"payroll profile {profile.name}: hours is decimal or hmm")
    for col in profile.columns:
        if col.get("field") not in known:
            raise InvalidInput(
                f"payroll profile {profile.name}: unknown field {col.get('field')!r}"
            )
    for figure in profile.wage_types:
        if figure not in FIGURES:
            raise InvalidInput(f"payroll profile {profile.name}: unknown figure {figure!r}")
    "".encode(profile.encoding)  # an unknown encoding fails here, not mid-export
    return profile


def period_of(conn: Connection, period_id: int) -> tuple[PayPeriod, PayCalendar]:
    """A closed period and its calendar, or NotFound / InvalidInput."""
    with Session(conn) as session:  # ORM rows on the caller's connection
        row = session.execute(
            select(PayPeriod, PayCalendar)
            .join(PayCalendar, PayCalendar.id == PayPeriod.calendar_id)
            .where(PayPeriod.id == period_id)
        ).first()
    if row is None:
        raise NotFound(f"no pay period {period_id}")
    period, cal = row
    if period.status != "closed":
        raise InvalidInput("payroll is exported from closed periods only; close the period first")
    return period, cal


def payroll_figures(conn: Connection, period_id: int) -> Iterator[dict[str, Any]]:
    """Each employee's figures for the closed period, by employee code (raw seconds)."""
    period, _ = period_of(conn, period_id)
    overtime = [
        func.coalesce(func.sum(A.overtime[cat].as_integer()), 0).label(name)
        for name, cat in _OVERTIME.items()
    ]
    frozen = (
        select(
            A.employee_id.label("employee_id"),
            func.coalesce(func.sum(A.target_s), 0).label("target"),
            func.coalesce(func.sum(A.worked_s), 0).label("worked"),
            *overtime,
            count_if(A.status == DayStatus.LATE.value).label("late_count"),
            func.coalesce(func.sum(A.late_s), 0).label("late"),
            count_if(A.early_leave_s > 0).label("early_count"),
            func.coalesce(func.sum(A.early_leave_s), 0).label("early"),
            count_if(A.status == DayStatus.ABSENT.value).label("absent"),
            count_if(A.status == DayStatus.INCOMPLETE.value).label("incomplete"),
            func.coalesce(func.sum(A.balance_delta_s), 0).label("balance"),
            func.coalesce(func.sum(A.night_s), 0).label("night"),
        )
        .join(C, (C.employee_id == A.employee_id) & (C.local_date == A.local_date))
        .where(C.period_id == period.id)
        .group_by(A.employee_id)
    ).subquery()
    leave = _leave_days(conn, period.id)
    adjustments = _adjustments(conn, period.id)
    query = (
        select(E.id, E.code, E.name, D.code, *[c for c in frozen.c if c.name != "employee_id"])
        .select_from(frozen)
        .join(E, E.id == frozen.c.employee_id)
        .outerjoin(D, D.id == E.department_id)
        .order_by(E.code)
    )
    seen: set[int] = set()
    for emp, code, name, dept, *vals in conn.execute(query):
        seen.add(emp)
        yield _figures(period, code, name, dept, vals, leave.get(emp, {}), adjustments.get(emp))
    # Employees with no closed day here but adjustments carried into this period.
    missing = sorted(set(adjustments) - seen)
    if missing:
        for emp, code, name, dept in conn.execute(
            select(E.id, E.code, E.name, D.code)
            .outerjoin(D, D.id == E.department_id)
            .where(E.id.in_(missing))
            .order_by(E.code)
        ):
            yield _figures(period, code, name, dept, [0] * 12, {}, adjustments[emp])


def _figures(
    period: PayPeriod,
    code: str,
    name: str,
    dept: str | None,
    vals: list[Any],
    leave: dict[str, int],
    adj: dict[str, Any] | None,
) -> dict[str, Any]:
    (target, worked, ot_w, ot_r, ot_h, late_n, late, early_n, early, absent, incomplete, bal,
     night) = (int(v or 0) for v in vals)  # fmt: skip
    adj = adj or {}
    trips = sum(n for t, n in leave.items() if t in TRIP_TYPES)
    return {
        "employee_code": code,
        "name": name,
        "department": dept or "",
        "period_start": period.start,
        "period_end": period.end,
        "target_hours": target,
        "worked_hours": worked,
        "overtime_weekday_hours": ot_w,
        "overtime_rest_day_hours": ot_r,
        "overtime_holiday_hours": ot_h,
        "night_hours": night,
        "late_count": late_n,
        "late_minutes": late,
        "early_leave_count": early_n,
        "early_leave_minutes": early,
        "absent_days": absent,
        "incomplete_days": incomplete,
        "leave_days": sum(n for t, n in leave.items() if t not in TRIP_TYPES),
        **{f"leave_{code}_days": leave.get(code, 0) for code in LEAVE_TYPES},
        "business_trip_days": trips,
        "balance_change_hours": bal,
        "adjustment_worked_hours": adj.get("worked_s", 0),
        "adjustment_overtime_hours": sum(adj.get("overtime", {}).values()),
        "adjustment_night_hours": adj.get("night_s", 0),
        "adjustment_late_minutes": adj.get("late_s", 0),
        "adjustment_absent_days": adj.get("absent_days", 0),
        "adjustment_count": adj.get("count", 0),
    }


def _leave_days(conn: Connection, period_id: int) -> dict[int, dict[str, int]]:
    """Days on leave per employee and leave type (statuses `leave:<type>`)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for emp, status, n in conn.execute(
        select(A.employee_id, A.status, func.count())
        .join(C, (C.employee_id == A.employee_id) & (C.local_date == A.local_date))
        .where(C.period_id == period_id, A.status.like(LEAVE_PREFIX + "%"))
        .group_by(A.employee_id, A.status)
    ):
        out[emp][status[len(LEAVE_PREFIX) :]] = int(n)
    return out


def _adjustments(conn: Connection, period_id: int) -> dict[int, dict[str, Any]]:
    """The adjustments carried into this period, summed per employee."""
    out: dict[int, dict[str, Any]] = {}
    for emp, delta in conn.execute(
        select(DayAdjustment.employee_id, DayAdjustment.delta)
        .where(DayAdjustment.carried_period_id == period_id)
        .order_by(DayAdjustment.id)
    ):
        if isinstance(delta, str):
            delta = json.loads(delta)
        total = out.get(emp) or {**nothing(), "count": 0}
        count = total["count"] + 1
        total = apply(total, {k: v for k, v in delta.items() if k != "status"})
        total["count"] = count
        out[emp] = total
    return out


def shape(figures: Iterator[dict[str, Any]], profile: Profile, period: PayPeriod) -> Report:
    """The figures as the profile's rows, units converted."""
    headers = tuple(c.get("header") or c["field"] for c in profile.columns)
    fields = [c["field"] for c in profile.columns]
    label = f"{period.start.isoformat()}..{period.end.isoformat()}"

    def rows() -> Iterator[tuple[Any, ...]]:
        for fig in figures:
            if profile.layout == "wide":
                yield tuple(_value(fig, f, profile, label) for f in fields)
                continue
            for figure, wage_type in profile.wage_types.items():
                amount = fig[figure]
                if not amount:
                    continue
                unit = FIGURES[figure]
                extra = {
                    "period": label,
                    "wage_type": wage_type,
                    "value": _convert(amount, unit, profile),
                    "unit": {"seconds": "hours", "minutes": "minutes"}.get(unit, unit),
                    "hours": _convert(amount, unit, profile) if unit == "seconds" else "",
                    "days": amount if unit == "days" else "",
                }
                yield tuple(_value({**fig, **extra}, f, profile, label) for f in fields)

    return Report(
        name=f"payroll-{profile.name}-{period.start.isoformat()}",
        columns=headers,
        rows=rows(),
        meta={
            "profile": profile.name,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
        },
    )


def _value(fig: dict[str, Any], name: str, profile: Profile, label: str) -> Any:
    if name == "period":
        return fig.get("period", label)
    value = fig.get(name, "")
    unit = FIGURES.get(name)
    if unit is None or name in ("hours", "days", "value"):
        return value.isoformat() if isinstance(value, date) else value
    return _convert(value, unit, profile)


def _convert(amount: int, unit: str, profile: Profile) -> Any:
    if unit == "seconds":
        if profile.hours == "hmm":
            sign = "-" if amount < 0 else ""
            minutes = abs(amount) // 60
            return f"{sign}{minutes // 60}:{minutes % 60:02d}"
        return round(amount / 3600.0, 2)
    if unit == "minutes":
        return round(amount / 60.0)
    return amount


FLUSH_ROWS = 500


def csv_chunks(report: Report, profile: Profile) -> Iterator[bytes]:
    """The report as CSV in the profile's encoding and delimiter, a chunk per FLUSH_ROWS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=profile.delimiter)
    # utf-8-sig writes its BOM at the start of each encode: only the first chunk gets it.
    encoding, rest = profile.encoding, profile.encoding.removesuffix("-sig")
    writer.writerow(report.columns)
    for n, row in enumerate(report.rows, start=1):
        writer.writerow(row)
        if n % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode(encoding, errors="replace")
            encoding = rest
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode(encoding, errors="replace")
