"""Which columns of an export hold what: the header names old systems write, in English and Chinese.

ZKTeco's software writes `AC-No.` for the PIN beside `No.`, which is a row, machine or
payroll number there (and the PIN only in the terminals' own USB export): `AC-No.` and
the Chinese PIN headers win, `No.` is taken only when nothing better is present. Names
and departments (`Name`, `姓名`, `部门`) are never read as the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from collector.importing.options import ColumnMap, ImportError_

# The usual headers of each field, most trusted first.
ALIASES: dict[str, tuple[str, ...]] = {
    "employee": (
        "employee_code",
        "employee",
        "ac-no.",
        "pin",
        "user_id",
        "emp_code",
        "badge",
        "badgenumber",
        "enroll_number",
        "考勤号码",
        "工号",
        "人员编号",
        "用户编号",
        "员工编号",
        "no.",
    ),
    "timestamp": (
        "timestamp",
        "date time",
        "date/time",
        "punch_time",
        "check_time",
        "日期时间",
        "打卡时间",
        "考勤时间",
        "签到时间",
    ),
    "date": ("date", "日期", "打卡日期", "考勤日期"),
    "time": ("time", "时间"),
    "timezone": ("timezone", "tz", "zone"),
    "state": ("state", "status", "punch_state", "in_out", "check_type", "type", "状态", "考勤状态"),
    "device": ("device", "device_code", "terminal", "machine", "sn"),
    "verify": (
        "verify",
        "verify mode",
        "verify_method",
        "verify_type",
        "verify_code",
        "verification",
        "验证方式",
    ),
}

LABELS = {  # the fields in the order the summary names them
    "employee": "employee code",
    "timestamp": "time",
    "state": "state",
    "verify": "verify method",
    "device": "device",
    "timezone": "timezone",
}

_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(:\d{2})?(\s*[ap]m)?", re.IGNORECASE)


def header_key(name: Any) -> str:
    """A header as matched: lower case, without spaces, dots, slashes, hyphens, underscores."""
    return re.sub(r"[\s._/\-]+", "", str(name).casefold()) if name is not None else ""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each field sits in a row, and the header it came from."""

    index: dict[str, int]  # field → column; "date" and "time" when the two are joined
    names: dict[str, str]  # field → header as written

    def fields(self, cells: Any) -> dict[str, Any]:
        """A row's cells by field (None where the row is short)."""
        count = len(cells)
        return {k: cells[i] if i < count else None for k, i in self.index.items()}

    def describe(self, time_formats: str) -> str:
        """What was read from where, e.g. `employee code ← AC-No., time ← Time (…)`."""
        parts = []
        for field, label in LABELS.items():
            if field == "timestamp":
                source = (
                    f"{self.names['date']} + {self.names['time']}"
                    if "date" in self.index
                    else self.names["timestamp"]
                )
                parts.append(f"{label} ← {source} ({time_formats})")
            elif field in self.index:
                parts.append(f"{label} ← {self.names[field]}")
        return ", ".join(parts)


def resolve_header(header: Any, columns: ColumnMap) -> Layout:
    """The layout of a header row; ImportError_ when the code or the time has no column."""
    written = ["" if h is None else str(h).strip() for h in header]
    keys = [header_key(h) for h in written]

    def find(field: str, chosen: str | None) -> int | None:
        for name in (chosen,) if chosen else ALIASES[field]:
            if header_key(name) in keys:
                return keys.index(header_key(name))
        if chosen:
            option = "--col-time" if field in ("timestamp", "time") else f"--col-{field}"
            raise ImportError_(f"no column {chosen!r} ({option}); the header is {written}")
        return None

    index: dict[str, int] = {}
    for field in ("employee", "timezone", "state", "device", "verify"):
        found = find(field, getattr(columns, field))
        if found is not None:
            index[field] = found
    if "employee" not in index:
        raise ImportError_(
            f"no employee column: looked for {', '.join(ALIASES['employee'])}; "
            f"the header is {written} (name it with --col-employee)"
        )
    stamp = find("timestamp", columns.timestamp) if not columns.date else None
    day = find("date", columns.date) if stamp is None else None
    clock = find("time", columns.timestamp) if stamp is None else None
    if stamp is not None:
        index["timestamp"] = stamp
    elif day is not None and clock is not None:
        index["date"], index["time"] = day, clock
    elif clock is not None and not columns.date:
        index["timestamp"] = clock  # a lone "Time" column holds the date too
    else:
        raise ImportError_(
            f"no time column: looked for {', '.join(ALIASES['timestamp'])}, or "
            f"{' / '.join(ALIASES['date'])} with {' / '.join(ALIASES['time'])}; "
            f"the header is {written} (name them with --col-time and --col-date)"
        )
    return Layout(index, {field: written[i] for field, i in index.items()})


def stamp_value(fields: dict[str, Any]) -> datetime | str | None:
    """A row's time: a spreadsheet's datetime, or its text (a date and a time joined)."""
    if "date" not in fields:
        value = fields.get("timestamp")
        if isinstance(value, datetime):
            return value
        return _text(value)
    day, clock = fields["date"], fields["time"]
    if isinstance(clock, datetime) and clock.year > 1900:
        return clock  # the time column holds a full date and time
    if isinstance(clock, datetime):
        clock = clock.time()  # a time-of-day cell on Excel's zero day
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date) and isinstance(clock, time):
        return datetime.combine(day, clock)
    day_text = day.isoformat() if isinstance(day, date) else _text(day)
    clock_text = clock.isoformat() if isinstance(clock, time) else _text(clock)
    if clock_text and not _TIME_ONLY.fullmatch(clock_text):
        return clock_text  # the time column holds a full date and time
    if not day_text or not clock_text:
        return None
    return f"{day_text} {clock_text}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
