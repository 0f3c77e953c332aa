"""Rosters as recomputation reads them: shift types, patterns, assignments and day entries.

`RosterBook` loads, for a set of employees and dates, what `rules.roster` needs in a few
queries, and keeps the compiled shift types (and the `Rostering` caches built on them)
until a shift type changes.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from collector.days.context import CHUNK, as_date, mark, query
from collector.store.ingest import db_date
from rules.roster import Assignment, EmployeeRoster, Rostering
from rules.schema import PolicyError
from rules.shifts import Pattern, PatternKind, ShiftType, load_shift_type

log = logging.getLogger(__name__)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def load_shift_types(conn: Connection) -> tuple[dict[str, ShiftType], tuple[Any, ...]]:
    """Every valid shift type by code, and a key that changes when any of them does."""
    rows = query(conn, "SELECT code, document, updated_at FROM shift_types ORDER BY code")
    types: dict[str, ShiftType] = {}
    for code, document, _ in rows:
        try:
            types[code] = load_shift_type(_json(document))
        except PolicyError as exc:  # validated on the way in; a hand-edited row may not be
            log.error("shift type %s is invalid and is skipped: %s", code, exc)
    return types, tuple((c, str(u)) for c, _, u in rows)


def load_patterns(conn: Connection) -> dict[int, Pattern]:
    """Every pattern by id (codes no longer known fall back when a day is resolved)."""
    out: dict[int, Pattern] = {}
    for pid, name, kind, codes, anchor in query(
        conn, "SELECT id, name, kind, codes, anchor FROM shift_patterns"
    ):
        out[pid] = Pattern(
            name,
            PatternKind(kind),
            tuple(_json(codes)),
            None if anchor is None else as_date(anchor),
        )
    return out


@dataclass
class RosterBook:
    """Roster data of the employees being recomputed, reusable across batches."""

    rostering: Rostering = field(default_factory=lambda: Rostering({}))
    employees: dict[int, EmployeeRoster] = field(default_factory=dict)
    _types_key: tuple[Any, ...] | None = None

    def of(self, employee_id: int) -> EmployeeRoster | None:
        """The employee's roster (None when nothing is rostered for them)."""
        return self.employees.get(employee_id)

    def load(self, conn: Connection, employee_ids: Iterable[int], lo: date, hi: date) -> None:
        """Read the roster of these employees with their day entries in [lo, hi]."""
        self.employees.clear()
        ids = sorted(set(employee_ids))
        if not ids:
            return
        types, key = load_shift_types(conn)
        if key != self._types_key:
            self.rostering = Rostering(types)
            self._types_key = key
        m = mark(conn)
        dialect = conn.dialect.name
        dept_of: dict[int, int] = {}
        own: dict[int, list[Assignment]] = defaultdict(list)
        days: dict[int, dict[date, str]] = defaultdict(dict)
        raw: list[tuple[Any, ...]] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            marks = ", ".join([m] * len(chunk))
            for eid, dept in query(
                conn, f"SELECT id, department_id FROM employees WHERE id IN ({marks})", chunk
            ):
                if dept is not None:
                    dept_of[eid] = dept
            raw += query(
                conn,
                "SELECT pattern_id, employee_id, department_id, effective_from, effective_to"
                f" FROM roster_assignments WHERE employee_id IN ({marks})",
                chunk,
            )
            for eid, day, code in query(
                conn,
                "SELECT employee_id, local_date, code FROM roster_days"
                f" WHERE employee_id IN ({marks}) AND local_date >= {m} AND local_date <= {m}",
                [*chunk, db_date(lo, dialect), db_date(hi, dialect)],
            ):
                days[eid][as_date(day)] = code
        depts = sorted(set(dept_of.values()))
        if depts:
            raw += query(
                conn,
                "SELECT pattern_id, employee_id, department_id, effective_from, effective_to"
                f" FROM roster_assignments WHERE department_id IN ({', '.join([m] * len(depts))})",
                depts,
            )
        if not raw and not days:
            return
        patterns = load_patterns(conn)
        by_dept: dict[int, list[Assignment]] = defaultdict(list)
        for pid, eid, dept, frm, to in raw:
            a = Assignment(patterns[pid], as_date(frm), None if to is None else as_date(to))
            if eid is not None:
                own[eid].append(a)
            elif dept is not None:
                by_dept[dept].append(a)
        for eid in ids:
            mine = own.get(eid, [])
            theirs = by_dept.get(dept_of.get(eid, -1), [])
            if mine or theirs or eid in days:
                self.employees[eid] = EmployeeRoster(
                    own=tuple(sorted(mine, key=_start)),
                    department=tuple(sorted(theirs, key=_start)),
                    days=days.get(eid, {}),
                )


def _start(a: Assignment) -> date:
    return a.effective_from
