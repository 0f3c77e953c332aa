"""day.finalized events: written with the recomputation that makes a day final, or changes one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from collector.days.context import CHUNK, as_date, as_utc, mark, query
from collector.outbound.events import EventType, emit, subscribers
from collector.outbound.payloads import day_event, iso_utc
from collector.store.coltypes import db_date

# What a receiver is told; a final day is announced again when one of these changes.
FIGURES = (
    "status",
    "worked_s",
    "break_s",
    "late_s",
    "early_leave_s",
    "target_s",
    "overtime",
    "night_s",  # paid at a premium: a change is news to payroll
)
TIMES = ("first_in", "last_out")
EXTRA = ("balance_delta_s", "core_missed_s", "anomalies")


def emit_finalized(
    conn: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *, now: datetime
) -> int:
    """Before `rows` are upserted: emit day.finalized for each final row that is news."""
    final = [
        dict(zip(columns, r, strict=True)) for r in rows if not r[columns.index("provisional")]
    ]
    if not final:
        return 0
    targets = subscribers(conn, [EventType.DAY_FINALIZED])
    if not targets:
        return 0
    keys = {(d["employee_id"], as_date(d["local_date"])) for d in final}
    previous = _previous(conn, keys)
    codes = _codes(conn, {e for e, _ in keys})
    events = []
    for d in final:
        key = (d["employee_id"], as_date(d["local_date"]))
        figures = _figures(d)
        before = previous.get(key)
        revised = before is not None and not before[0]
        if revised and all(figures[k] == before[1][k] for k in FIGURES):  # type: ignore[index]
            continue  # final before and unchanged: nothing new to tell
        events.append(day_event(codes.get(key[0], ""), key[0], key[1], figures, revised=revised))
    return emit(conn, events, now=now, targets=targets)


def _figures(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: d[k] for k in FIGURES + EXTRA}
    for k in ("overtime", "anomalies"):
        if isinstance(out[k], str):
            out[k] = json.loads(out[k])
    for k in TIMES:
        out[k] = iso_utc(as_utc(d[k]))
    return out


def _previous(
    conn: Connection, keys: set[tuple[int, Any]]
) -> dict[tuple[int, Any], tuple[bool, dict[str, Any]]]:
    """Stored rows of these days: (provisional, figures)."""
    m = mark(conn)
    emps = sorted({e for e, _ in keys})
    lo, hi = min(d for _, d in keys), max(d for _, d in keys)
    cols = ("employee_id", "local_date", "provisional", *FIGURES)
    out: dict[tuple[int, Any], tuple[bool, dict[str, Any]]] = {}
    for i in range(0, len(emps), CHUNK):
        chunk = emps[i : i + CHUNK]
        sql = (
            f"SELECT {', '.join(cols)} FROM attendance_days"
            f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
            f" AND local_date >= {m} AND local_date <= {m}"
        )
        for row in query(
            conn, sql, [*chunk, db_date(lo, conn.dialect.name), db_date(hi, conn.dialect.name)]
        ):
            d = dict(zip(cols, row, strict=True))
            key = (d["employee_id"], as_date(d["local_date"]))
            if key in keys:
                if isinstance(d["overtime"], str):
                    d["overtime"] = json.loads(d["overtime"])
                out[key] = (bool(d["provisional"]), d)
    return out


def _codes(conn: Connection, emps: set[int]) -> dict[int, str]:
    m = mark(conn)
    ids = sorted(emps)
    out: dict[int, str] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        sql = f"SELECT id, code FROM employees WHERE id IN ({', '.join([m] * len(chunk))})"
        out.update(dict(query(conn, sql, chunk)))
    return out
