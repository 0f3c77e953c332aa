"""Keeping days current: consume dirty marks in batches, close days, recompute ranges.

The queue's invariant: once a transaction that changed what a day depends on (a punch, a
link, a policy) commits, either a mark for that day exists that no claim in progress will
delete, or a recompute has read the day's punches after that commit. It holds because:

- `mark_dirty` upserts: a new mark, or `version + 1` on the one there. `ON CONFLICT DO
  UPDATE` row-locks the mark until the marking transaction ends (`DO NOTHING` locked
  nothing, so a worker could take and delete the mark of a punch it could not see yet).
- A claim reads marks with their versions, deletes only those versions, and reads the
  punches after that, in the transaction that writes the days.
- PostgreSQL: a claim locks its marks (`FOR UPDATE SKIP LOCKED`). A mark an open
  transaction has bumped is skipped, for a pass after that commit; a marker reaching a mark
  already claimed waits for the claim's commit, finds it deleted and inserts a fresh one.
- SQLite: writers take turns. A mark bumped between a claim's read and its delete is not
  the version claimed and stays; the delete waits for an open marker, whose punches the
  claim then sees.

Marks are written in key order, so concurrent markers lock them in one order. Several
collectors on one PostgreSQL share the queue through `SKIP LOCKED`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from collector.days.context import CHUNK, Context, as_date, as_utc, mark, query
from collector.days.recompute import RecomputeResult, recompute, void_targets
from collector.store.ingest import db_date, mark_dirty


def claim_dirty(conn: Connection, limit: int) -> set[tuple[int, date]]:
    """Take up to `limit` dirty marks off the queue inside the caller's transaction."""
    m = mark(conn)
    lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE SKIP LOCKED"
    rows = query(
        conn,
        "SELECT employee_id, local_date, version FROM dirty_days"
        f" ORDER BY local_date, employee_id LIMIT {int(limit)}{lock}",
    )
    if not rows:
        return set()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        # Only the versions read: a mark bumped since stays for the next pass.
        cursor.executemany(
            f"DELETE FROM dirty_days WHERE employee_id = {m} AND local_date = {m}"
            f" AND version = {m}",
            rows,
        )
    finally:
        cursor.close()
    return {(emp, as_date(day)) for emp, day, _ in rows}


def process_dirty(
    engine: Engine,
    *,
    now: datetime,
    batch: int = 2000,
    ctx: Context | None = None,
    max_batches: int | None = None,
) -> RecomputeResult:
    """Recompute every dirty day, one committed batch at a time."""
    total = RecomputeResult()
    ctx = ctx or Context()
    done = 0
    while max_batches is None or done < max_batches:
        with engine.begin() as conn:
            days = claim_dirty(conn, batch)
            if not days:
                break
            days |= void_targets(conn, days)
            r = recompute(conn, days, now=now, ctx=ctx)
        total.written += r.written
        total.removed += r.removed
        total.provisional += r.provisional
        done += 1
    return total


def assigned_days(
    conn: Connection,
    start: date,
    end: date,
    *,
    employee_ids: Iterable[int] | None = None,
) -> set[tuple[int, date]]:
    """Employee-days in [start, end] on which a policy assignment is in force."""
    m = mark(conn)
    sql = "SELECT employee_id, effective_from, effective_to FROM policy_assignments"
    params: list[Any] = []
    if employee_ids is not None:
        ids = sorted(set(employee_ids))
        if not ids:
            return set()
        sql += f" WHERE employee_id IN ({', '.join([m] * len(ids))})"
        params = ids
    rows = query(conn, sql, params)
    active = _active_ranges(conn, {r[0] for r in rows})
    # The latest assignment starting on or before a day is the one in force.
    by_emp: dict[int, list[tuple[date, date | None]]] = {}
    for emp, frm, to in rows:
        by_emp.setdefault(emp, []).append((as_date(frm), None if to is None else as_date(to)))
    out: set[tuple[int, date]] = set()
    for emp, spans in by_emp.items():
        spans.sort()
        for i, (frm, to) in enumerate(spans):
            stop = spans[i + 1][0] - timedelta(days=1) if i + 1 < len(spans) else end
            if to is not None:
                stop = min(stop, to)
            lo, hi = active.get(emp, (None, None))
            day = max(frm, start, lo or frm)
            stop = min(stop, end, hi or end)
            while day <= stop:
                out.add((emp, day))
                day += timedelta(days=1)
    return out


def _active_ranges(conn: Connection, emps: set[int]) -> dict[int, tuple[date | None, date | None]]:
    """First and last day each employee is employed (deletion ends employment)."""
    ids = sorted(emps)
    m = mark(conn)
    out: dict[int, tuple[date | None, date | None]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        for emp, af, at, deleted in query(
            conn,
            "SELECT id, active_from, active_to, deleted_at FROM employees"
            f" WHERE id IN ({', '.join([m] * len(chunk))})",
            chunk,
        ):
            last = None if at is None else as_date(at)
            gone = as_utc(deleted)
            if gone is not None:
                before = gone.date() - timedelta(days=1)
                last = before if last is None else min(last, before)
            out[emp] = (None if af is None else as_date(af), last)
    return out


def recompute_range(
    engine: Engine,
    start: date,
    end: date,
    *,
    now: datetime,
    employee_ids: Iterable[int] | None = None,
    chunk: int = 500,
    ctx: Context | None = None,
) -> RecomputeResult:
    """Recompute every assigned employee-day in [start, end] (absences included)."""
    only = None if employee_ids is None else set(employee_ids)
    with engine.connect() as conn:
        days = assigned_days(conn, start, end, employee_ids=only)
        # Days now outside any assignment still hold old rows: recompute drops them.
        m = mark(conn)
        dialect = conn.dialect.name
        sql = f"SELECT employee_id, local_date FROM attendance_days WHERE local_date >= {m}"
        sql += f" AND local_date <= {m}"
        for emp, day in query(conn, sql, [db_date(start, dialect), db_date(end, dialect)]):
            if only is None or emp in only:
                days.add((emp, as_date(day)))
    by_emp: dict[int, list[date]] = {}
    for emp, day in days:
        by_emp.setdefault(emp, []).append(day)
    emps = sorted(by_emp)
    total = RecomputeResult()
    ctx = ctx or Context()
    for i in range(0, len(emps), chunk):
        part = [(e, d) for e in emps[i : i + chunk] for d in by_emp[e]]
        with engine.begin() as conn:
            r = recompute(conn, part, now=now, ctx=ctx, neighbours=False)
        total.written += r.written
        total.removed += r.removed
        total.provisional += r.provisional
    return total


def close_days(engine: Engine, *, now: datetime, lookback_days: int = 7) -> int:
    """Mark for recomputation the recent assigned days with no row yet (absences to be) and
    provisional rows whose window has closed; returns how many were marked."""
    start = now.date() - timedelta(days=lookback_days)
    today = now.date() + timedelta(days=1)  # zones ahead of UTC are already a day on
    with engine.begin() as conn:
        wanted = assigned_days(conn, start, today)
        m = mark(conn)
        dialect = conn.dialect.name
        have: dict[tuple[int, date], tuple[bool, datetime | None]] = {}
        for emp, day, prov, closes in query(
            conn,
            "SELECT employee_id, local_date, provisional, closes_at FROM attendance_days"
            f" WHERE local_date >= {m} AND local_date <= {m}",
            [db_date(start, dialect), db_date(today, dialect)],
        ):
            have[(emp, as_date(day))] = (bool(prov), as_utc(closes))
        marks: list[tuple[int, date]] = []
        for key in wanted:
            row = have.get(key)
            # No row yet (an absence to be), or provisional and its window has closed.
            if row is None or (row[0] and (row[1] is None or row[1] <= now)):
                marks.append(key)
        mark_dirty(conn, marks)
    return len(marks)
