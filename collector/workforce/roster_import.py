"""Importing the roster HR keeps in Excel: employees as rows, dates as columns, codes in cells.

CSV/text or XLSX, read through the punch importer's readers (encoding checks included).
The header names the employee column (工号, 员工编号, Employee, Code, PIN …), optionally a
name and a department column (shown, not used), and one column per date (2026-03-01,
2026/3/1, 2026年3月1日, or a date cell; a weekday after it is ignored). A cell holds a
shift code or a rest code (`-`, `休`); an empty cell leaves the day to the pattern and
removes an earlier entry. The whole file is checked first — unknown codes, unknown
employees, repeated rows or dates, a shift overlapping the next day's across midnight —
and nothing is stored unless every check passes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from collector.days.context import CHUNK, as_date, mark, query
from collector.days.roster_book import load_shift_types
from collector.importing.encodings import FileKind, file_kind, text_encoding
from collector.importing.options import ImportError_
from collector.importing.reading import LineError, Rows, text_rows, xlsx_rows
from collector.store.ingest import db_date, mark_dirty
from rules.policy import DAY_S
from rules.shifts import REST_CODES, ShiftType

EMPLOYEE_HEADERS = frozenset(
    {"工号", "员工编号", "员工工号", "编号", "人员编号", "考勤号", "employee", "employee code",
     "employee_code", "employee no", "emp no", "code", "pin", "id"}
)  # fmt: skip
INFO_HEADERS = frozenset(
    {"姓名", "员工姓名", "名字", "部门", "name", "employee name", "department", "dept"}
)  # shown to HR in the sheet; the roster does not need them
MAX_PROBLEMS = 50  # problems listed in the refusal (the count says how many more)
_DATE = re.compile(
    r"^\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?(?:$|[\s(（])"
)


class RosterImportError(ImportError_):
    """A roster file that is refused as a whole; `problems` lists what is wrong."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class RosterPlan:
    """A checked roster file: the entries it sets and the days it leaves to the pattern."""

    path: Path
    dates: list[date]
    entries: dict[tuple[int, date], str] = field(default_factory=dict)  # (employee, date) → code
    blank: set[tuple[int, date]] = field(default_factory=set)  # cells left empty
    employees: int = 0


@dataclass(frozen=True, slots=True)
class RosterImportResult:
    """What storing a roster file changed."""

    employees: int
    days: int  # employee-days in the file
    written: int  # entries inserted or changed
    removed: int  # earlier entries removed by empty cells
    marked: int  # employee-days marked for recomputation


def header_date(value: Any) -> date | None:
    """The date a header cell names, or None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    found = _DATE.match(str(value or ""))
    if found is None:
        return None
    try:
        return date(*(int(g) for g in found.groups()))
    except ValueError:
        return None


def _rows(path: Path, sheet: str | None, encoding: str | None, delimiter: str | None) -> Rows:
    if file_kind(path) is FileKind.XLSX:
        return xlsx_rows(path, sheet)
    return text_rows(path, text_encoding(path, encoding), delimiter)


def _cell(value: Any) -> str:
    if type(value) is str:  # nearly every cell: no conversion to weigh
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # Excel's numbers: PIN 1001 as 1001.0
        value = int(value)
    return str(value).strip()


def plan_roster_import(
    conn: Connection,
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RosterPlan:
    """Read and check a roster file as a whole; RosterImportError lists every problem."""
    rows = _rows(path, sheet, encoding, delimiter)
    try:
        header_line, header = _header(rows)
        emp_col, date_cols, problems = _layout(header)
        if emp_col is None:
            raise RosterImportError(
                f"line {header_line}: no employee column (one of {sorted(EMPLOYEE_HEADERS)})"
            )
        types, _ = load_shift_types(conn)
        known = set(types) | REST_CODES
        clashes = _clashing_pairs(types)
        employees = _employee_ids(conn)
        plan = RosterPlan(path, [d for _, d in date_cols])
        seen: dict[str, int] = {}
        width = max(col for col, _ in date_cols) + 1 if date_cols else 0
        for number, cells, _raw in rows:
            if isinstance(cells, LineError):
                problems.append(f"line {number}: {cells.reason}")
                continue
            code = _cell(cells[emp_col] if emp_col < len(cells) else None)
            if not code:
                problems.append(f"line {number}: no employee code")
                continue
            if code in seen:
                problems.append(
                    f"line {number}: employee {code} again (first on line {seen[code]})"
                )
                continue
            seen[code] = number
            emp = employees.get(code)
            if emp is None:
                problems.append(f"line {number}: unknown employee {code}")
            planned: list[tuple[date, str]] = []
            if len(cells) < width:  # a short row: its missing cells are empty
                cells = [*cells, *[None] * (width - len(cells))]
            for col, day in date_cols:
                value = _cell(cells[col])
                if not value:
                    if emp is not None:
                        plan.blank.add((emp, day))
                    continue
                if value not in known:
                    problems.append(f"line {number}, {day}: unknown shift code {value!r}")
                    continue
                if clashes:
                    planned.append((day, value))
                if emp is not None:
                    plan.entries[(emp, day)] = value
            if clashes:  # most shift sets have none: no row needs checking then
                problems += _overlaps(number, code, planned, clashes)
    finally:
        rows.close()
    plan.employees = len(seen)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise RosterImportError(
            f"{path.name}: nothing stored, {len(problems)} problem(s): "
            + "; ".join(shown)
            + (f"; and {more} more" if more else ""),
            problems,
        )
    return plan


def _header(rows: Rows) -> tuple[int, list[Any]]:
    for number, cells, _raw in rows:
        if isinstance(cells, LineError):
            raise RosterImportError(f"line {number}: {cells.reason}")
        return number, cells
    raise RosterImportError("the file is empty")


def _layout(header: list[Any]) -> tuple[int | None, list[tuple[int, date]], list[str]]:
    """The employee column, the date columns, and the header's problems."""
    emp_col = None
    dates: list[tuple[int, date]] = []
    problems: list[str] = []
    firsts: dict[date, int] = {}
    for col, value in enumerate(header):
        text = _cell(value)
        name = text.lower()
        day = header_date(value)
        if day is not None:
            if day in firsts:
                problems.append(f"header: {day} in columns {firsts[day] + 1} and {col + 1}")
            firsts.setdefault(day, col)
            dates.append((col, day))
        elif name in EMPLOYEE_HEADERS and emp_col is None:
            emp_col = col
        elif text and name not in INFO_HEADERS:
            problems.append(f"header: column {col + 1} {text!r} is neither a date nor known")
    if not dates:
        problems.append("header: no date columns (2026-03-01, 2026/3/1 or 2026年3月1日)")
    return emp_col, dates, problems


def _clashing_pairs(types: dict[str, ShiftType]) -> dict[tuple[str, str], ShiftType]:
    """Pairs of codes where the first day's shift runs into the next day's (e.g. a night to
    07:00, then a 06:00 early), with the first's type; worked out once per file, not per cell."""
    out: dict[tuple[str, str], ShiftType] = {}
    for a in types.values():
        for b in types.values():
            if a.shift and b.shift and a.shift.end_s > DAY_S + b.shift.start_s:
                out[(a.code, b.code)] = a
    return out


def _overlaps(
    number: int,
    code: str,
    planned: list[tuple[date, str]],
    clashes: dict[tuple[str, str], ShiftType],
) -> Iterator[str]:
    """A shift running into the next day's shift on consecutive dates."""
    one = timedelta(days=1)
    for (day0, code0), (day1, code1) in itertools.pairwise(planned):
        if (code0, code1) in clashes and day0 + one == day1:
            yield (
                f"line {number}: employee {code}'s {code0} on {day0} ends after "
                f"the {code1} shift on {day1} starts (overlap across midnight)"
            )


def _employee_ids(conn: Connection) -> dict[str, int]:
    return {
        code: eid
        for eid, code in query(conn, "SELECT id, code FROM employees WHERE deleted_at IS NULL")
    }


def store_roster(conn: Connection, plan: RosterPlan, *, today: date) -> RosterImportResult:
    """Write a checked plan: changed entries upserted, emptied ones removed, days marked."""
    dialect = conn.dialect.name
    m = mark(conn)
    existing: dict[tuple[int, date], str] = {}
    emps = sorted({e for e, _ in plan.entries} | {e for e, _ in plan.blank})
    if plan.dates:
        lo, hi = min(plan.dates), max(plan.dates)
        for i in range(0, len(emps), CHUNK):
            chunk = emps[i : i + CHUNK]
            for eid, day, code in query(
                conn,
                "SELECT employee_id, local_date, code FROM roster_days"
                f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
                f" AND local_date >= {m} AND local_date <= {m}",
                [*chunk, db_date(lo, dialect), db_date(hi, dialect)],
            ):
                existing[(eid, as_date(day))] = code
    changed = [(k, c) for k, c in plan.entries.items() if existing.get(k) != c]
    removed = [k for k in plan.blank if k in existing]
    note = f"import {plan.path.name}"[:200]
    stored = {d: db_date(d, dialect) for d in plan.dates}  # a month has 31 dates, not 310,000
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        upsert = (
            " ON CONFLICT (employee_id, local_date)"
            " DO UPDATE SET code = excluded.code, note = excluded.note"
        )
        if dialect == "postgresql" and changed:
            cursor.execute(
                "INSERT INTO roster_days (employee_id, local_date, code, note)"
                " SELECT k.e, k.d, k.c, %s FROM unnest(%s::bigint[], %s::date[], %s::text[])"
                " AS k (e, d, c)" + upsert,
                (
                    note,
                    [e for (e, _), _ in changed],
                    [d for (_, d), _ in changed],
                    [c for _, c in changed],
                ),
            )
        elif changed:
            cursor.executemany(
                "INSERT INTO roster_days (employee_id, local_date, code, note) VALUES (?, ?, ?, ?)"
                + upsert,
                [(e, stored[d], c, note) for (e, d), c in changed],
            )
        if removed:
            cursor.executemany(
                f"DELETE FROM roster_days WHERE employee_id = {m} AND local_date = {m}",
                [(e, stored[d]) for e, d in removed],
            )
    finally:
        cursor.close()
    # Days ahead of tomorrow are computed when they come; a day's neighbours may change too.
    last = today + timedelta(days=1)
    one = timedelta(days=1)
    around = {
        d: [x for x in (d - one, d, d + one) if x <= last] for d in plan.dates
    }  # a month has 31 dates: their neighbours once, not once per employee
    touched: dict[int, set[date]] = {}
    for e, d in itertools.chain((key for key, _ in changed), removed):
        touched.setdefault(e, set()).add(d)
    marks: list[tuple[int, date]] = []
    for e in sorted(touched):  # each employee's dates with their neighbours, once, in order
        near = sorted(set().union(*(around[d] for d in touched[e])))
        marks += [(e, x) for x in near]
    mark_dirty(conn, marks)
    return RosterImportResult(
        employees=plan.employees,
        days=len(plan.entries) + len(plan.blank),
        written=len(changed),
        removed=len(removed),
        marked=len(marks),
    )
