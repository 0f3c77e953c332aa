"""Golden months with leave and make-up working days, in Shanghai.

- office_half_day_leave: March 2026 for an office worker (09:00–18:00, lunch 12:00–13:30)
  with half-day, hourly and full-day leave of several types, a business trip and a punch on
  a sick day.
- china_spring_festival: February 2026 around the Spring Festival: Feb 15–23 off, the
  Saturdays Feb 14 and Feb 28 worked (调休补班), a bridge day of annual leave.

The files hold the punches and leave beside every figure and the explanation, so a reviewer
can check each day by hand. Regenerate only on purpose:
PUNCHGATE_UPDATE_GOLDEN=1 pytest tests/rules/test_golden_leave.py
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rules import Punch, evaluate_period, load_policy, site_calendar
from rules.leave import evaluate_with_leave, leave_plan
from rules.leavetypes import DayLeave
from rules.plan import DayKind
from rules.vocabulary import PunchState
from tests.rules.helpers import FIXED_DOC, LATER, check_golden, doc

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PUNCHGATE_UPDATE_GOLDEN") == "1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = site_calendar("Asia/Shanghai", "CN")
OFFICE = doc(
    FIXED_DOC,
    shift={"start": "09:00", "end": "18:00", "grace_late_min": 5, "grace_early_min": 5},
    target_min=480,
    breaks={"deductions": [{"after_min": 360, "break_min": 60}], "min_break_min": 30},
    half_day_leave={"am_end": "12:00", "pm_start": "13:30"},
    overtime={"basis": "after_shift_end", "minimum_min": 30, "round_min": 15},
    thresholds={"absent_below_min": 60, "half_day_below_min": 240},
    balance={"enabled": True},
)

# date → leave entries (code, part, start, end)
HALF_DAY_LEAVE = {
    "2026-03-03": [("annual", "am", "", "")],
    "2026-03-05": [("compensatory", "pm", "", "")],
    "2026-03-10": [("sick", "hours", "09:00", "11:00")],
    "2026-03-12": [("sick", "full", "", "")],  # punches anyway: shown, flagged
    "2026-03-16": [("annual", "full", "", "")],
    "2026-03-17": [("annual", "full", "", "")],
    "2026-03-19": [("business_trip", "full", "", "")],
    "2026-03-24": [("annual", "am", "", ""), ("unpaid", "pm", "", "")],
    "2026-03-26": [("field_work", "full", "", "")],
    "2026-03-31": [("annual", "pm", "", "")],
}
SPRING_FESTIVAL_LEAVE = {
    "2026-02-13": [("annual", "full", "", "")],  # the Friday before the break
    "2026-02-20": [("annual", "full", "", "")],  # a day off already: costs nothing
}
PEOPLE = [
    ("office_half_day_leave", date(2026, 3, 1), 31, HALF_DAY_LEAVE, {"2026-03-12", "2026-03-26"}),
    ("china_spring_festival", date(2026, 2, 1), 28, SPRING_FESTIVAL_LEAVE, set()),
]


def _at(day: date, minutes: int) -> datetime:
    local = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(minutes=minutes)
    return local.astimezone(UTC)


def build(name: str, first: date, length: int, leave: dict[str, Any], punch_anyway: set[str]):
    policy = load_policy(name, "fixed", OFFICE)
    rnd = random.Random(sum(map(ord, name)))
    month = [first + timedelta(days=i) for i in range(length)]
    results, days, pid = [], [], 0
    for day in month:
        entries = [DayLeave.of(*e) for e in leave.get(day.isoformat(), [])]
        plan = leave_plan(policy, CN, day, entries)
        punches: list[Punch] = []
        full = plan.leave is not None and plan.leave.full is not None and plan.leave.counted
        if plan.kind is DayKind.WORK and (not full or day.isoformat() in punch_anyway):
            start = round((plan.start - plan.midnight) / 60) + round(rnd.gauss(-5, 8))
            end = round((plan.end - plan.midnight) / 60) + round(rnd.gauss(10, 15))
            if full:
                start, end = 9 * 60 + 30, 11 * 60 + 30
            for minutes, state in ((start, "in"), (end, "out")):
                pid += 1
                punches.append(Punch(pid, _at(day, minutes), PunchState(state)))
        r = evaluate_with_leave(policy, day, punches, CN, LATER, entries)
        results.append(r)
        days.append(
            {
                "date": day.isoformat(),
                "weekday": day.strftime("%a"),
                "leave": [" ".join(x for x in e if x) for e in leave.get(day.isoformat(), [])],
                "punches": [p.at.astimezone(SHANGHAI).strftime("%H:%M") for p in punches],
                "status": r.status_code,
                "worked_s": r.worked_s,
                "target_s": r.target_s,
                "late_s": r.late_s,
                "early_leave_s": r.early_leave_s,
                "overtime": dict(r.overtime),
                "balance_delta_s": r.balance_delta_s,
                "anomalies": list(r.anomalies),
                "explanation": [d.text for d in r.explanation],
            }
        )
    period = asdict(evaluate_period(results))
    period["start"], period["end"] = str(period["start"]), str(period["end"])
    return {"employee": name, "policy": OFFICE, "days": days, "period": period}


@pytest.mark.parametrize("person", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_golden_month_with_leave(person):
    check_golden(GOLDEN / f"{person[0]}.json", build(*person), update=UPDATE)


def test_the_spring_festival_month_counts_what_the_notice_says():
    got = build(*PEOPLE[1])
    status = {d["date"]: d["status"] for d in got["days"]}
    assert status["2026-02-14"] != "rest_day" and status["2026-02-28"] != "rest_day"
    assert [d for d, s in status.items() if s == "holiday"] == [
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-02-23",
    ]
    assert status["2026-02-13"] == "leave:annual"
    # 20 weekdays − 6 days off + 2 Saturdays worked = 16 working days, one on leave.
    assert got["period"]["statuses"].get("absent", 0) == 0
    worked_days = sum(1 for s in status.values() if s in ("present", "late"))
    assert worked_days == 15
