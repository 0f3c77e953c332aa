"""Builders for rules tests: policy documents, punches in Berlin local time."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rules import Punch, load_policy, site_calendar
from rules.vocabulary import PunchState

BERLIN = ZoneInfo("Europe/Berlin")
CAL = site_calendar("Europe/Berlin", "DE", "BE")
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # every window in the tests has closed by then
H = 3600
M = 60

FLEX_DOC: dict[str, Any] = {
    "target_min": 480,
    "flex": {
        "earliest_start": "07:00",
        "latest_start": "10:00",
        "earliest_end": "16:00",
        "latest_end": "20:00",
        "core": [{"start": "10:00", "end": "16:00"}],
    },
    "breaks": {
        "deductions": [{"after_min": 360, "break_min": 30}, {"after_min": 540, "break_min": 45}],
        "min_break_min": 15,
        "max_daily_min": 600,
    },
    "pairing": {"mode": "by_state", "collapse_seconds": 60},
}

FIXED_DOC: dict[str, Any] = {
    "shift": {"start": "09:00", "end": "17:00", "grace_late_min": 5, "grace_early_min": 5},
    "target_min": 480,
    "pairing": {"mode": "by_state", "collapse_seconds": 60},
}

NIGHT_DOC: dict[str, Any] = {
    "shift": {
        "start": "22:00",
        "end": "06:00",
        "checkin_before_min": 120,
        "checkout_after_min": 240,
    },
    "target_min": 480,
    "calendar": {"rest_days": [], "public_holidays": False},
    "overtime": {"basis": "after_shift_end"},
}


def doc(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a document with top-level sections merged (dicts) or replaced."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def flex(**changes: Any):
    """The standard flexitime policy with changes."""
    return load_policy("flex", "flexitime", doc(FLEX_DOC, **changes))


def fixed(**changes: Any):
    """The standard 09:00–17:00 fixed shift with changes."""
    return load_policy("fixed", "fixed", doc(FIXED_DOC, **changes))


def night(**changes: Any):
    """A 22:00–06:00 night shift, every day a working day."""
    return load_policy("night", "fixed", doc(NIGHT_DOC, **changes))


_ids = iter(range(1, 10**9))


def at(day: date, hhmm: str, plus_days: int = 0) -> datetime:
    """An aware Berlin wall time on `day` (+ days), converted to UTC like stored punches."""
    h, m = (int(x) for x in hhmm.split(":"))
    local = datetime.combine(day + timedelta(days=plus_days), datetime.min.time())
    return local.replace(hour=h, minute=m, tzinfo=BERLIN).astimezone(UTC)


def punch(day: date, hhmm: str, state: str = "in", plus_days: int = 0, **kw: Any) -> Punch:
    """A punch at a Berlin wall time with a fresh id."""
    return Punch(kw.pop("id", next(_ids)), at(day, hhmm, plus_days), PunchState(state), **kw)


def pairs(day: date, *spans: str) -> list[Punch]:
    """In/out punches for spans like '08:00-12:00'."""
    out = []
    for span in spans:
        a, b = span.split("-")
        out += [punch(day, a, "in"), punch(day, b, "out")]
    return out


def check_golden(path: Path, got: dict[str, Any], *, update: bool) -> None:
    """Compare a month with its golden file day by day (rewrite it first when `update`)."""
    got = json.loads(json.dumps(got, ensure_ascii=False))
    if update:
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    for want, have in zip(expected["days"], got["days"], strict=True):
        assert have == want, f"{path.stem} {want['date']}"
    assert got == expected
