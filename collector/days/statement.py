"""An employee's stored days over a period, with totals and the time-balance statement."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from collector.days.context import Context, as_date, as_utc, mark, query
from collector.store.ingest import db_date
from rules.period import BalanceStatement, balance_statement


@dataclass
class StoredDay:
    """One attendance_days row as the statement shows it."""

    day: date
    status: str
    provisional: bool
    first_in: datetime | None
    last_out: datetime | None
    worked_s: int
    late_s: int
    early_leave_s: int
    overtime: dict[str, int]
    balance_delta_s: int
    target_s: int = 0  # the day's expected working time under its policy
    shift: str | None = None  # the rostered (or auto-chosen) shift code it was measured against


@dataclass
class PeriodStatement:
    """Totals of the stored days and, under a balance policy, the balance statement."""

    zone: str = "UTC"  # the employee's site zone, for showing times
    days: list[StoredDay] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    worked_s: int = 0
    target_s: int = 0
    late_days: int = 0
    late_s: int = 0
    early_leave_days: int = 0
    overtime: dict[str, int] = field(default_factory=dict)
    balance: BalanceStatement | None = None


def period_statement(
    conn: Connection, employee_id: int, start: date, end: date, *, opening_s: int = 0
) -> PeriodStatement:
    """Read the employee's days in [start, end]; the cap and floor are those of the policy
    in force on the last day."""
    m = mark(conn)
    dialect = conn.dialect.name
    rows = query(
        conn,
        "SELECT local_date, status, provisional, first_in, last_out, worked_s, late_s,"
        " early_leave_s, overtime, balance_delta_s, target_s, explanation FROM attendance_days"
        f" WHERE employee_id = {m} AND local_date >= {m} AND local_date <= {m}"
        " ORDER BY local_date",
        [employee_id, db_date(start, dialect), db_date(end, dialect)],
    )
    out = PeriodStatement()
    statuses: Counter[str] = Counter()
    overtime: Counter[str] = Counter()
    change = 0
    for day, status, prov, first, last, worked, late, early, ot, delta, target, why in rows:
        ot = json.loads(ot) if isinstance(ot, str) else (ot or {})
        steps = json.loads(why) if isinstance(why, str) else (why or [])
        out.days.append(
            StoredDay(
                as_date(day),
                status,
                bool(prov),
                as_utc(first),
                as_utc(last),
                worked,
                late,
                early,
                ot,
                delta,
                target or 0,
                planned_code(steps[0]) if steps else None,
            )
        )
        statuses[status] += 1
        out.worked_s += worked
        out.target_s += target or 0
        out.late_days += late > 0
        out.late_s += late
        out.early_leave_days += early > 0
        overtime.update(ot)
        change += delta
    out.statuses, out.overtime = dict(statuses), dict(overtime)
    ctx = Context()
    ctx.load(conn, [employee_id])
    out.zone = ctx.calendar_of(employee_id).zone.key
    found = ctx.policy_on(employee_id, end)
    if found is not None and found[1].balance.enabled:
        out.balance = balance_statement(opening_s, change, found[1].balance)
    return out


def planned_code(step: dict[str, Any]) -> str | None:
    """The shift code a day's first explanation step names, when it is the roster's.

    rules.roster words them "rostered <describe>: …" (planned shift or rest) and
    "auto shift <describe> (…)" (chosen by the first punch); describe starts with the code.
    """
    if step.get("rule") != "roster":
        return None
    words = str(step.get("text", "")).split(maxsplit=3)
    if step.get("outcome") in ("shift", "rest") and words[:1] == ["rostered"] and len(words) > 1:
        return words[1]
    if step.get("outcome") == "auto" and words[:2] == ["auto", "shift"] and len(words) > 2:
        return words[2]
    return None


def as_json(st: PeriodStatement) -> dict[str, Any]:
    """A JSON-ready form of a statement."""
    data = asdict(st)
    for d in data["days"]:
        d["day"] = d["day"].isoformat()
        for key in ("first_in", "last_out"):
            d[key] = None if d[key] is None else d[key].isoformat()
    return data
