"""Importing leave HR keeps in a spreadsheet (CSV or XLSX, English or Chinese headers).

The whole file is checked before anything is stored — unknown employees, unknown types,
impossible dates or times, entries overlapping each other or stored leave — and refused with
every problem listed. Then each row is added, changed (same employee, start, type, part and
start time, other details) or left as it is, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import DomainError
from collector.importing.columns import header_key
from collector.importing.encodings import FileKind, file_kind, text_encoding
from collector.importing.options import ImportError_
from collector.importing.reading import LineError, Rows, text_rows, xlsx_rows
from collector.store.models import Employee, Leave
from collector.workforce.leave import LeaveInput, add_leave, overlaps, update_leave
from rules.leavetypes import LEAVE_TYPES

# Field → header names it is recognised by (compared through header_key).
HEADERS: dict[str, tuple[str, ...]] = {
    "employee": ("employee", "employee code", "code", "pin", "工号", "员工编号", "考勤号"),
    "leave_type": ("type", "leave type", "leave_type", "类型", "假期类型", "请假类型"),
    "start_date": ("start", "start date", "from", "开始日期", "日期"),
    "end_date": ("end", "end date", "to", "结束日期"),
    "part": ("part", "portion", "时段"),
    "start_time": ("start time", "from time", "开始时间"),
    "end_time": ("end time", "to time", "结束时间"),
    "note": ("note", "reason", "comment", "备注", "事由"),
}
REQUIRED = ("employee", "leave_type", "start_date")
# Type names as HR writes them, besides the codes.
TYPE_NAMES = {header_key(t.name): t.code for t in LEAVE_TYPES.values()} | {
    t.name_zh: t.code for t in LEAVE_TYPES.values()
}
PARTS = {
    "full": "full", "fullday": "full", "全天": "full",
    "am": "am", "morning": "am", "上午": "am",
    "pm": "pm", "afternoon": "pm", "下午": "pm",
    "hours": "hours", "hourly": "hours", "小时": "hours", "按小时": "hours",
}  # fmt: skip


@dataclass
class LeaveImportSummary:
    """What an import did."""

    rows: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def read_rows(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> Rows:
    """The file's rows, header first, as the punch import reads them."""
    if file_kind(path) is FileKind.XLSX:
        return xlsx_rows(path, sheet)
    return text_rows(path, text_encoding(path, encoding), None)


def _layout(header: list[Any]) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    out: dict[str, int] = {}
    for name, names in HEADERS.items():
        for i, key in enumerate(keys):
            if key in {header_key(n) for n in names}:
                out.setdefault(name, i)
    missing = [n for n in REQUIRED if n not in out]
    if missing:
        raise ImportError_(f"no column for {', '.join(missing)}; the header is {header}")
    return out


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip().replace("/", "-"))


def _clock(value: Any) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, datetime | time):
        return value.strftime("%H:%M")
    text = str(value).strip()
    return f"0{text}" if len(text) == 4 and text[1] == ":" else text[:5]


def _entry(cells: list[Any], layout: dict[str, int]) -> tuple[str, LeaveInput]:
    def cell(name: str) -> Any:
        i = layout.get(name)
        value = cells[i] if i is not None and i < len(cells) else None
        return value.strip() if isinstance(value, str) else value

    raw_type = str(cell("leave_type") or "")
    code = raw_type if raw_type in LEAVE_TYPES else TYPE_NAMES.get(header_key(raw_type), raw_type)
    part = str(cell("part") or "full")
    start = _date(cell("start_date"))
    if start is None:
        raise ValueError("no start date")
    data = LeaveInput(
        leave_type=code,
        start_date=start,
        end_date=_date(cell("end_date")),
        part=PARTS.get(header_key(part), part),
        start_time=_clock(cell("start_time")),
        end_time=_clock(cell("end_time")),
        note=str(cell("note") or ""),
    )
    data.checked()
    return str(cell("employee") or ""), data


def import_leave(
    session: Session, path: Path, *, actor: str, now: datetime, **read: Any
) -> LeaveImportSummary:
    """Check every row, then store them in the caller's transaction; a file with problems
    stores nothing (the summary lists them all)."""
    rows = read_rows(path, **read)
    summary = LeaveImportSummary()
    layout: dict[str, int] | None = None
    parsed: list[tuple[int, str, LeaveInput]] = []
    for number, cells, _raw in rows:
        if isinstance(cells, LineError):
            summary.problems.append(f"line {number}: {cells.reason}")
            continue
        if layout is None:
            layout = _layout(cells)
            continue
        summary.rows += 1
        try:
            code, data = _entry(cells, layout)
        except (ValueError, DomainError) as exc:
            summary.problems.append(f"line {number}: {exc}")
            continue
        parsed.append((number, code, data))
    people = {
        e.code: e
        for e in session.scalars(
            select(Employee).where(
                Employee.code.in_({c for _, c, _ in parsed}), Employee.deleted_at.is_(None)
            )
        )
    }
    for number, code, _ in parsed:
        if code not in people:
            summary.problems.append(f"line {number}: no employee has code {code!r}")
    if not summary.problems:
        _check_overlaps(session, parsed, people, now, summary)
    if summary.problems:
        summary.problems.sort(key=lambda p: int(p.split(":")[0].removeprefix("line ")))
        return summary
    for _, code, data in parsed:
        _store(session, people[code], data, actor, now, summary)
    return summary


def _check_overlaps(
    session: Session,
    parsed: list[tuple[int, str, LeaveInput]],
    people: dict[str, Employee],
    now: datetime,
    summary: LeaveImportSummary,
) -> None:
    """Rows claiming time another row or stored leave (other than the one they replace) has."""
    rows = [(n, d.row(people[c].id, actor="", now=now, source="import")) for n, c, d in parsed]
    stored: dict[int, list[Leave]] = {}
    for emp in {r.employee_id for _, r in rows}:
        stored[emp] = list(session.scalars(select(Leave).where(Leave.employee_id == emp)))
    seen: list[tuple[int, Leave]] = []
    for number, row in rows:
        for other in stored[row.employee_id]:
            if _key(other) != _key(row) and overlaps(row, other):
                summary.problems.append(
                    f"line {number}: overlaps stored leave #{other.id} ({other.leave_type}, "
                    f"{other.part}, {other.start_date}–{other.end_date})"
                )
        for line, other in seen:
            if other.employee_id == row.employee_id and overlaps(row, other):
                summary.problems.append(f"line {number}: overlaps line {line}")
        seen.append((number, row))


def _key(row: Leave) -> tuple[Any, ...]:
    """What an imported row is matched on to replace a stored one."""
    return (row.employee_id, row.start_date, row.leave_type, row.part, row.start_time)


def _store(
    session: Session,
    emp: Employee,
    data: LeaveInput,
    actor: str,
    now: datetime,
    summary: LeaveImportSummary,
) -> None:
    hours = data.part == "hours"
    found = session.scalar(
        select(Leave).where(
            Leave.employee_id == emp.id,
            Leave.start_date == data.start_date,
            Leave.leave_type == data.leave_type,
            Leave.part == data.part,
            Leave.start_time == (data.start_time if hours else ""),
        )
    )
    if found is None:
        add_leave(session, employee=emp, data=data, actor=actor, now=now, source="import")
        summary.added += 1
    elif (found.end_date, found.end_time, found.note) == (
        data.end_date or data.start_date,
        data.end_time if hours else "",
        data.note,
    ):
        summary.unchanged += 1
    else:
        update_leave(session, leave=found, data=data, actor=actor, now=now)
        summary.changed += 1
