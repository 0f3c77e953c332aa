"""Recompute attendance days: read punches, evaluate with `rules`, upsert `attendance_days`.

Reads and writes go through the DB-API cursor with `executemany` (as ingest does): at a few
hundred thousand days the ORM would cost more than the evaluation. A day is provisional
while its punch window is open or a device feeding it has not reported past the window's
end: the rules are given the earliest of `now` and those devices' `reported_until` as the
time up to which the punches are known to be complete.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from json.encoder import encode_basestring as _quote  # JSON string, non-ASCII kept
from typing import Any

from sqlalchemy import Connection

from collector.days.context import CHUNK, Context, DeviceInfo, as_date, mark, query
from collector.days.finalized import emit_finalized
from collector.days.frozen import Held, effective_ids, load_frozen, record_adjustments
from collector.store.ingest import db_date, db_time
from rules.evaluate import DayResult, Punch
from rules.explain import Decision
from rules.leave import evaluate_with_leave
from rules.plan import DayPlan, day_plan
from rules.policy import Policy
from rules.punch import Timeline
from rules.requests import approval_text, cap_overtime
from rules.vocabulary import PunchState, SourceKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATES = {s.value: s for s in PunchState}
_SOURCES = {s.value: s for s in SourceKind}
DAY_COLUMNS = (
    "employee_id",
    "local_date",
    "policy_id",
    "status",
    "provisional",
    "first_in",
    "last_out",
    "worked_s",
    "break_s",
    "late_s",
    "early_leave_s",
    "overtime",
    "balance_delta_s",
    "anomalies",
    "explanation",
    "computed_at",
    "target_s",
    "core_missed_s",
    "closes_at",
    "night_s",
)
_JSON = {"overtime", "anomalies", "explanation"}


@dataclass(slots=True)
class RecomputeResult:
    """What one recomputation did."""

    written: int = 0  # attendance days inserted or updated
    removed: int = 0  # days dropped because no policy was in force or the employee was not
    provisional: int = 0  # of the written days, still provisional
    adjusted: int = 0  # closed days whose change was recorded as an adjustment


def expand(
    ctx: Context, days: Iterable[tuple[int, date]], foreign: set[tuple[int, date]] | None = None
) -> set[tuple[int, date]]:
    """The dirty days plus neighbours a punch on them may belong to: night-shift windows
    reaching across midnight, and punches dated in a zone other than the site's."""
    out: set[tuple[int, date]] = set()
    one = timedelta(days=1)
    for emp, day in days:
        out.add((emp, day))
        if foreign and (emp, day) in foreign:
            out.add((emp, day - one))
            out.add((emp, day + one))
            continue
        if ctx.roster.of(emp) is not None:
            # A rostered neighbour's window depends on its shift, which may reach this day.
            out.add((emp, day - one))
            out.add((emp, day + one))
            continue
        prev = ctx.policy_on(emp, day - one)
        if prev is not None and prev[1].reaches_next_day:
            out.add((emp, day - one))
        nxt = ctx.policy_on(emp, day + one)
        if nxt is not None and nxt[1].reaches_previous_day:
            out.add((emp, day + one))
    return out


def foreign_zone_days(
    conn: Connection, ctx: Context, days: set[tuple[int, date]]
) -> set[tuple[int, date]]:
    """Dirty days holding a punch dated in a zone other than the employee's site zone.

    Dirty marks carry the punch's date in its source's zone (a phone abroad, an import in
    UTC); in the site's zone that punch may fall on the day before or after.
    """
    if not days:
        return set()
    m = mark(conn)
    dialect = conn.dialect.name
    emps = sorted({e for e, _ in days})
    lo, hi = min(d for _, d in days), max(d for _, d in days)
    out: set[tuple[int, date]] = set()
    for i in range(0, len(emps), CHUNK):
        chunk = emps[i : i + CHUNK]
        for emp, day, tz in query(
            conn,
            "SELECT DISTINCT employee_id, local_date, tz FROM punches"
            f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
            f" AND local_date >= {m} AND local_date <= {m}",
            [*chunk, db_date(lo, dialect), db_date(hi, dialect)],
        ):
            key = (emp, as_date(day))
            if key in days and tz != ctx.calendar_of(emp).zone.key:
                out.add(key)
    return out


def recompute(
    conn: Connection,
    days: Iterable[tuple[int, date]],
    *,
    now: datetime,
    ctx: Context | None = None,
    neighbours: bool = True,
    windows: dict[tuple[int, date], frozenset[int]] | None = None,
) -> RecomputeResult:
    """Recompute the given employee-days (and their night-shift neighbours) in `conn`;
    `windows`, when given, receives the ids of the punches each day counted."""
    wanted = set(days)
    if not wanted:
        return RecomputeResult()
    ctx = ctx or Context()
    ctx.load(conn, {e for e, _ in wanted})
    one = timedelta(days=1)
    dates = [d for _, d in wanted]
    ctx.roster.load(conn, ctx.employees, min(dates) - 2 * one, max(dates) + 2 * one)
    if neighbours:
        wanted = expand(ctx, wanted, foreign_zone_days(conn, ctx, wanted))
    by_emp: dict[int, list[date]] = defaultdict(list)
    for emp, day in wanted:
        by_emp[emp].append(day)
    punches = _read_punches(conn, ctx, by_emp)
    frozen = load_frozen(conn, by_emp)
    held: list[Held] = []
    result = RecomputeResult()
    rows: list[tuple[Any, ...]] = []
    gone: list[tuple[Any, ...]] = []
    dialect = conn.dialect.name
    computed = db_time(now, dialect)
    for emp, emp_days in by_emp.items():
        info = ctx.employees.get(emp)
        cal = ctx.calendar_of(emp)
        # Sorted once, so each day takes its window's slice instead of scanning the month.
        line = Timeline(punches.get(emp, []))
        site_devices = ctx.site_devices.get(info.site_id if info else None, [])
        # In date order: the rostering resolves each date once for its day and neighbours.
        for day in sorted(emp_days):
            found = ctx.policy_on(emp, day) if info is not None and info.active_on(day) else None
            if found is None:
                if (emp, day) not in frozen:  # a closed day stays as it was closed
                    gone.append((emp, db_date(day, dialect)))
                continue
            pid, policy = found
            roster = ctx.roster.of(emp)
            rostered = None
            if roster is not None:
                bases = (_base(ctx, emp, day - one), policy, _base(ctx, emp, day + one))
                rostered = ctx.roster.rostering.day(roster, bases, cal, day, line.punches)
            if rostered is None:
                plan = day_plan(policy, cal, day)
            else:
                policy, plan = rostered.policy, rostered.plan
            window = line.between(plan.win_start, plan.win_end)
            horizon, lagging = _horizon(ctx, site_devices, window, now)
            if line.voids:
                window += line.voids
            leaves = ctx.leave_on(emp, day)
            r = evaluate_with_leave(policy, day, window, cal, horizon, leaves, plan)
            approval = None
            if policy.requests.overtime_needs_approval and r.overtime:
                r, approval = _approved_only(r, ctx.approved_overtime.get((emp, day), 0) * 60)
            if windows is not None:
                windows[(emp, day)] = effective_ids(window)
            if frozen and (emp, day) in frozen:
                held.append(Held(emp, day, pid, r, effective_ids(window)))
                continue
            provisional = r.provisional
            result.provisional += provisional
            extra = None
            if lagging is not None and provisional and now.timestamp() >= plan.win_end:
                extra = _waiting(lagging, plan.win_end)
            why = None if rostered is None else rostered.decision
            rows.append(_row(emp, pid, r, computed, dialect, extra, why, approval))
    emit_finalized(conn, DAY_COLUMNS, rows, now=now)
    _upsert(conn, rows)
    _delete(conn, gone)
    result.adjusted = record_adjustments(conn, held, frozen, now)
    result.written = len(rows)
    result.removed = len(gone)
    return result


def _approved_only(r: DayResult, approved_s: int) -> tuple[DayResult, dict[str, str]]:
    """The day with only the overtime approved in advance counted, and the decision saying so."""
    kept, dropped = cap_overtime(r.overtime, approved_s)
    outcome = "unapproved" if dropped else "approved"
    decision = {"rule": "overtime", "outcome": outcome, "text": approval_text(approved_s, dropped)}
    return r._replace(overtime=kept), decision


def _base(ctx: Context, emp: int, day: date) -> Policy | None:
    """The employee's policy on a neighbouring day (None: no day is computed there)."""
    found = ctx.policy_on(emp, day)
    return None if found is None else found[1]


def _horizon(
    ctx: Context, site_devices: list[DeviceInfo], window: list[Punch], now: datetime
) -> tuple[datetime, DeviceInfo | None]:
    """Until when this day's punches are known complete (now, or a lagging device's report),
    and the device that lags most."""
    horizon = now
    lagging = None
    feeding = list(site_devices)
    for p in window:
        if p.device is not None:
            dev = ctx.devices.get(p.device)
            if dev is not None:
                feeding.append(dev)
    for dev in feeding:
        until = dev.reported_until
        if until is None:  # never reported: nothing about this day is final
            return EPOCH, dev
        if until < horizon:
            horizon, lagging = until, dev
    return horizon, lagging


def _waiting(dev: DeviceInfo, closes: float) -> dict[str, str]:
    """The decision that says which terminal keeps the day provisional."""
    until = dev.reported_until
    closes_at = datetime.fromtimestamp(closes, UTC).strftime("%Y-%m-%d %H:%M UTC")
    seen = (
        "has not reported yet"
        if until is None
        else (f"has reported only up to {until.strftime('%Y-%m-%d %H:%M UTC')}")
    )
    return {
        "rule": "devices",
        "outcome": "waiting",
        "text": f"waiting for terminal {dev.code}: it {seen}; the day's window closes {closes_at}",
    }


def _read_punches(
    conn: Connection, ctx: Context, by_emp: dict[int, list[date]]
) -> dict[int, list[Punch]]:
    """Each employee's punches around the days wanted, plus every void record they have."""
    groups: dict[tuple[date, date], list[int]] = defaultdict(list)
    for emp, days in by_emp.items():
        groups[(min(days), max(days))].append(emp)
    m = mark(conn)
    dialect = conn.dialect.name
    out: dict[int, list[Punch]] = defaultdict(list)
    for (lo, hi), emps in groups.items():
        # Windows reach at most a day either side; a two-day margin covers every zone.
        start = datetime.combine(lo - timedelta(days=2), datetime.min.time(), UTC)
        end = datetime.combine(hi + timedelta(days=3), datetime.min.time(), UTC)
        for i in range(0, len(emps), CHUNK):
            chunk = emps[i : i + CHUNK]
            marks = ", ".join([m] * len(chunk))
            rows = query(
                conn,
                "SELECT id, employee_id, occurred_at, state, source_kind, flags, voids_punch_id,"
                f" device_code FROM punches WHERE employee_id IN ({marks})"
                f" AND occurred_at >= {m} AND occurred_at < {m} AND state <> 'void'",
                [*chunk, db_time(start, dialect), db_time(end, dialect)],
            )
            rows += query(
                conn,
                "SELECT id, employee_id, occurred_at, state, source_kind, flags, voids_punch_id,"
                f" device_code FROM punches WHERE employee_id IN ({marks}) AND state = 'void'",
                chunk,
            )
            for pid, emp, at, state, source, flags, voids, device in rows:
                if isinstance(at, str):  # SQLite text; parsing with the offset is the fast path
                    when = datetime.fromisoformat(at + "+00:00")
                else:
                    when = at.replace(tzinfo=UTC)
                out[emp].append(
                    Punch(
                        pid,
                        when,
                        _STATES.get(state, PunchState.UNKNOWN),
                        _SOURCES.get(source, SourceKind.IMPORT),
                        flags or 0,
                        voids,
                        device,
                    )
                )
    return out


def _stamp(ts: float | None, dialect: str) -> Any:
    """A Unix time as the store's naive-UTC value (what `db_time` gives, without detours)."""
    if ts is None:
        return None
    naive = datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else naive


def _row(
    emp: int,
    pid: int,
    r: DayResult,
    computed: Any,
    dialect: str,
    extra: dict[str, str] | None,
    roster: Decision | None = None,
    approval: dict[str, str] | None = None,
) -> tuple[Any, ...]:
    parts = [_decision_json(d.rule, d.outcome, d.text) for d in r.explanation]
    if roster is not None:  # which shift the day was measured against comes first
        parts.insert(0, _decision_json(roster.rule, roster.outcome, roster.text))
    if approval is not None:  # just before the status
        parts.insert(
            len(parts) - 1,
            _decision_json(approval["rule"], approval["outcome"], approval["text"]),
        )
    if extra is not None:  # just before the status
        parts.insert(len(parts) - 1, _decision_json(extra["rule"], extra["outcome"], extra["text"]))
    return (
        emp,
        db_date(r.day, dialect),
        pid,
        r.status_code,
        r.provisional,
        _stamp(r.first_in_ts, dialect),
        _stamp(r.last_out_ts, dialect),
        r.worked_s,
        r.break_s,
        r.late_s,
        r.early_leave_s,
        json.dumps({str(k): v for k, v in r.overtime.items()}) if r.overtime else "{}",
        r.balance_delta_s,
        json.dumps(list(r.anomalies)) if r.anomalies else "[]",
        "[" + ",".join(parts) + "]",
        computed,
        r.target_s,
        r.core_missed_s,
        _closes(r.plan, dialect),
        r.night_s,
    )


def _decision_json(rule: str, outcome: str, text: str) -> str:
    """One decision as the JSON object json.dumps would write, without the generic encoder."""
    return f'{{"rule": {_quote(rule)}, "outcome": {_quote(outcome)}, "text": {_quote(text)}}}'


_CLOSES: dict[tuple[DayPlan, str], Any] = {}


def _closes(plan: DayPlan, dialect: str) -> Any:
    """The window's end as stored; the same for every employee under the plan, so cached."""
    key = (plan, dialect)
    value = _CLOSES.get(key)
    if value is None:
        if len(_CLOSES) > 100_000:
            _CLOSES.clear()
        value = _CLOSES[key] = _stamp(plan.win_end, dialect)
    return value


def _upsert(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    pg = conn.dialect.name != "sqlite"
    m = mark(conn)
    marks = ", ".join(f"{m}::json" if pg and c in _JSON else m for c in DAY_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in DAY_COLUMNS[2:])
    sql = (
        f"INSERT INTO attendance_days ({', '.join(DAY_COLUMNS)}) VALUES ({marks})"
        f" ON CONFLICT (employee_id, local_date) DO UPDATE SET {updates}"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _delete(conn: Connection, keys: list[tuple[Any, ...]]) -> None:
    if not keys:
        return
    m = mark(conn)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"DELETE FROM attendance_days WHERE employee_id = {m} AND local_date = {m}", keys
        )
    finally:
        cursor.close()


def void_targets(conn: Connection, days: set[tuple[int, date]]) -> set[tuple[int, date]]:
    """Days of punches cancelled by void records that were stored on the given days."""
    emps = sorted({e for e, _ in days})
    m = mark(conn)
    out: set[tuple[int, date]] = set()
    for i in range(0, len(emps), CHUNK):
        chunk = emps[i : i + CHUNK]
        marks = ", ".join([m] * len(chunk))
        for emp, vday, tday in query(
            conn,
            "SELECT v.employee_id, v.local_date, t.local_date FROM punches v"
            " JOIN punches t ON t.id = v.voids_punch_id"
            f" WHERE v.state = 'void' AND v.employee_id IN ({marks})",
            chunk,
        ):
            if (emp, as_date(vday)) in days:
                out.add((emp, as_date(tday)))
    return out
