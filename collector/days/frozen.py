"""Closed days stay as they were closed; a later change becomes an adjustment with its cause.

Recomputation calls `load_frozen` for the days it evaluates and hands the frozen ones to
`record_adjustments` instead of writing them: the difference between the new figures and
what was closed (plus the adjustments already recorded) is stored once, with what changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from collector.days.context import CHUNK, as_date, mark, query
from collector.store.ingest import db_date, db_time
from rules.evaluate import DayResult, Punch
from rules.vocabulary import DayStatus, PunchState

# Integer figures an adjustment carries, as attendance_days names them.
SECONDS = (
    "worked_s",
    "break_s",
    "late_s",
    "early_leave_s",
    "balance_delta_s",
    "target_s",
    "night_s",
)
# Day counts payroll pays or deducts by, and the statuses each counts.
COUNTS = {
    "late_days": (DayStatus.LATE.value,),
    "early_leave_days": (),  # counted from early_leave_s > 0
    "absent_days": (DayStatus.ABSENT.value,),
    "incomplete_days": (DayStatus.INCOMPLETE.value,),
}


@dataclass(frozen=True, slots=True)
class Frozen:
    """What a close kept of one day."""

    period_id: int
    policy_id: int | None
    punch_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Held:
    """A frozen day's new evaluation, kept out of attendance_days."""

    employee_id: int
    day: date
    policy_id: int
    result: DayResult
    punch_ids: frozenset[int]


def effective_ids(window: list[Punch]) -> frozenset[int]:
    """The ids of the punches a day counts: void records and what they cancel left out."""
    voided = {p.voids for p in window if p.state is PunchState.VOID}
    return frozenset(p.id for p in window if p.state is not PunchState.VOID and p.id not in voided)


def load_frozen(conn: Connection, by_emp: dict[int, list[date]]) -> dict[tuple[int, date], Frozen]:
    """The closed days among the employee-days asked for."""
    out: dict[tuple[int, date], Frozen] = {}
    if not by_emp:
        return out
    m = mark(conn)
    dialect = conn.dialect.name
    lo = min(min(days) for days in by_emp.values())
    hi = max(max(days) for days in by_emp.values())
    emps = sorted(by_emp)
    for i in range(0, len(emps), CHUNK):
        chunk = emps[i : i + CHUNK]
        for emp, day, period, policy, ids in query(
            conn,
            "SELECT employee_id, local_date, period_id, policy_id, punch_ids FROM closed_days"
            f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
            f" AND local_date >= {m} AND local_date <= {m}",
            [*chunk, db_date(lo, dialect), db_date(hi, dialect)],
        ):
            punch_ids = json.loads(ids) if isinstance(ids, str) else ids
            out[(emp, as_date(day))] = Frozen(period, policy, frozenset(punch_ids or ()))
    return out


def figures_of(status: str, seconds: Iterable[int], overtime: dict[str, int]) -> dict[str, Any]:
    """A day's payable figures in the shape adjustments subtract."""
    out: dict[str, Any] = dict(zip(SECONDS, seconds, strict=True))
    out["overtime"] = {k: int(v) for k, v in overtime.items() if v}
    out["status"] = status
    for name, statuses in COUNTS.items():
        out[name] = int(status in statuses) if statuses else int(out["early_leave_s"] > 0)
    return out


def nothing() -> dict[str, Any]:
    """The figures of a day that had no computed row when it was closed."""
    out = figures_of("", (0,) * len(SECONDS), {})
    out["status"] = None
    return out


def _of_result(r: DayResult) -> dict[str, Any]:
    seconds = (
        r.worked_s,
        r.break_s,
        r.late_s,
        r.early_leave_s,
        r.balance_delta_s,
        r.target_s,
        r.night_s,
    )
    return figures_of(r.status_code, seconds, {str(k): v for k, v in r.overtime.items()})


def apply(figures: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """The figures after an adjustment."""
    out = dict(figures)
    for name in (*SECONDS, *COUNTS):
        out[name] = figures.get(name, 0) + delta.get(name, 0)
    overtime = dict(figures.get("overtime", {}))
    for cat, secs in delta.get("overtime", {}).items():
        overtime[cat] = overtime.get(cat, 0) + secs
    out["overtime"] = {k: v for k, v in overtime.items() if v}
    if "status" in delta:
        out["status"] = delta["status"][1]
    return out


def difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What turns `before` into `after`; empty when nothing payable changed."""
    delta: dict[str, Any] = {}
    for name in (*SECONDS, *COUNTS):
        change = after[name] - before.get(name, 0)
        if change:
            delta[name] = change
    overtime = {
        cat: after["overtime"].get(cat, 0) - before.get("overtime", {}).get(cat, 0)
        for cat in {*after["overtime"], *before.get("overtime", {})}
    }
    if any(overtime.values()):
        delta["overtime"] = {k: v for k, v in sorted(overtime.items()) if v}
    if after["status"] != before.get("status"):
        delta["status"] = [before.get("status"), after["status"]]
    return delta


def record_adjustments(
    conn: Connection, held: list[Held], frozen: dict[tuple[int, date], Frozen], now: datetime
) -> int:
    """Store the difference of each held day from its closed figures; returns how many."""
    if not held:
        return 0
    dialect = conn.dialect.name
    current = _closed_figures(conn, held)
    rows: list[tuple[Any, ...]] = []
    for h in held:
        if h.result.provisional:
            continue  # not final yet: the pass that finalises it records the change
        key = (h.employee_id, h.day)
        before = current.get(key)
        if before is None:  # closed with no computed day: it was nothing
            before = nothing()
        delta = difference(before, _of_result(h.result))
        if not delta:
            continue
        f = frozen[key]
        rows.append(
            (
                h.employee_id,
                db_date(h.day, dialect),
                f.period_id,
                db_time(now, dialect),
                _cause(f, h, delta),
                json.dumps(delta),
            )
        )
    if rows:
        m = mark(conn)
        cast = "::json" if dialect != "sqlite" else ""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                "INSERT INTO day_adjustments (employee_id, local_date, period_id, created_at,"
                f" cause, delta) VALUES ({m}, {m}, {m}, {m}, {m}, {m}{cast})",
                rows,
            )
        finally:
            cursor.close()
    return len(rows)


def _cause(f: Frozen, h: Held, delta: dict[str, Any]) -> str:
    """What changed since the close, in HR's words."""
    parts = []
    if "status" in delta:
        old, new = delta["status"]
        parts.append(f"the day is now {new} (was {old or 'not computed'})")
    added = sorted(h.punch_ids - f.punch_ids)
    removed = sorted(f.punch_ids - h.punch_ids)
    if added:
        parts.append(f"{_n(len(added), 'punch')} added since the close (id {_ids(added)})")
    if removed:
        parts.append(
            f"{_n(len(removed), 'punch')} voided or moved since the close (id {_ids(removed)})"
        )
    if f.policy_id != h.policy_id:
        parts.append(f"policy changed from {f.policy_id} to {h.policy_id}")
    if len(parts) == int("status" in delta):
        parts.append("the policy, calendar, leave or employee data changed since the close")
    return "; ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}es"


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _closed_figures(conn: Connection, held: list[Held]) -> dict[tuple[int, date], dict[str, Any]]:
    """Each held day's figures as closed, with the adjustments already recorded applied."""
    m = mark(conn)
    dialect = conn.dialect.name
    out: dict[tuple[int, date], dict[str, Any]] = {}
    keys = sorted({(h.employee_id, h.day) for h in held})
    for i in range(0, len(keys), CHUNK // 2):
        chunk = keys[i : i + CHUNK // 2]
        where = " OR ".join([f"(employee_id = {m} AND local_date = {m})"] * len(chunk))
        params = [v for emp, day in chunk for v in (emp, db_date(day, dialect))]
        for emp, day, status, *rest in query(
            conn,
            f"SELECT employee_id, local_date, status, {', '.join(SECONDS)}, overtime"
            f" FROM attendance_days WHERE {where}",
            params,
        ):
            overtime = rest[-1]
            if isinstance(overtime, str):
                overtime = json.loads(overtime)
            out[(emp, as_date(day))] = figures_of(status, rest[:-1], overtime or {})
        for emp, day, delta in query(
            conn,
            f"SELECT employee_id, local_date, delta FROM day_adjustments WHERE {where} ORDER BY id",
            params,
        ):
            key = (emp, as_date(day))
            if isinstance(delta, str):
                delta = json.loads(delta)
            if key in out:
                out[key] = apply(out[key], delta)
            else:
                out[key] = apply(nothing(), delta)
    return out
