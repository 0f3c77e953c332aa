"""Golden month snapshots: a handful of employees under each policy kind for March 2026.

March 2026 has the spring clock change (29th) and a month end a night shift crosses. The
files hold the punches (local times) beside every figure and the explanation, so a reviewer
can check each day by hand. Regenerate only on purpose:
PUNCHGATE_UPDATE_GOLDEN=1 pytest tests/rules/test_golden.py
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from rules import DayResult, Punch, evaluate_day, evaluate_period, load_policy
from rules.vocabulary import PunchState
from tests.rules.helpers import (
    BERLIN,
    CAL,
    FIXED_DOC,
    FLEX_DOC,
    LATER,
    NIGHT_DOC,
    at,
    check_golden,
    doc,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PUNCHGATE_UPDATE_GOLDEN") == "1"
MONTH = [date(2026, 3, 1) + timedelta(days=i) for i in range(31)]

FLEX_GOLD = doc(
    FLEX_DOC,
    overtime={"minimum_min": 15, "round_min": 15, "daily_cap_min": 120},
    balance={"carry_cap_min": 600, "carry_floor_min": -300},
    thresholds={"absent_below_min": 60, "half_day_below_min": 240},
)
FIXED_GOLD = doc(
    FIXED_DOC,
    breaks={"deductions": [{"after_min": 360, "break_min": 30}], "min_break_min": 15},
    overtime={"basis": "after_shift_end", "minimum_min": 30, "round_min": 15},
    pairing={"auto_checkout": True},
)

# name, policy kind, document, arrival mean/sd (minutes after midnight), stay mean (minutes)
PEOPLE = [
    ("flex_steady", "flexitime", FLEX_GOLD, 8 * 60, 20, 510, 0.0),
    ("flex_late_riser", "flexitime", FLEX_GOLD, 9 * 60 + 45, 20, 480, 0.1),
    ("flex_long_days", "flexitime", FLEX_GOLD, 7 * 60 + 30, 15, 600, 0.05),
    ("fixed_punctual", "fixed", FIXED_GOLD, 8 * 60 + 55, 4, 495, 0.0),
    ("fixed_sloppy", "fixed", FIXED_GOLD, 9 * 60, 12, 470, 0.15),
    ("night_worker", "fixed", NIGHT_DOC, 22 * 60 - 5, 8, 485, 0.05),
]


def month_of_punches(seed: int, mean: int, sd: int, stay: int, forget: float, rest: set[int]):
    """A deterministic month: arrivals, a lunch break on long days, occasional lapses."""
    rnd = random.Random(seed)
    out: list[tuple[date, list[tuple[int, str]]]] = []
    for day in MONTH:
        if day.weekday() in rest or rnd.random() < 0.05:  # rest day, or absent
            out.append((day, []))
            continue
        arrive = round(rnd.gauss(mean, sd))
        leave = arrive + round(rnd.gauss(stay, 25))
        punches = [(arrive, "in")]
        if stay > 540 and rnd.random() < 0.7:
            lunch = arrive + 240
            punches += [(lunch, "break_out"), (lunch + rnd.choice([10, 20, 30, 45]), "break_in")]
        if rnd.random() < 0.1:  # a double press at the door
            punches.append((arrive + 1, "in"))
        if rnd.random() >= forget:  # sometimes no check-out
            punches.append((leave, "out"))
        out.append((day, punches))
    return out


def _clock(minutes: int) -> tuple[str, int]:
    days, m = divmod(minutes, 1440)
    return f"{m // 60:02d}:{m % 60:02d}", days


def build(name: str, kind: str, document: dict[str, Any], mean, sd, stay, forget) -> dict[str, Any]:
    policy = load_policy(name, kind, document)
    rest = set(policy.calendar.rest_weekdays)
    month = month_of_punches(sum(map(ord, name)), mean, sd, stay, forget, rest)
    everything: list[Punch] = []
    shown: dict[date, list[str]] = {}
    pid = 0
    for day, punches in month:
        shown[day] = []
        for minutes, state in punches:
            hhmm, plus = _clock(minutes)
            pid += 1
            everything.append(Punch(pid, at(day, hhmm, plus), PunchState(state)))
            shown[day].append(f"{hhmm}{' +1d' if plus else ''} {state}")
    results = [evaluate_day(policy, day, everything, CAL, LATER) for day in MONTH]
    period = evaluate_period(results, opening_balance_s=3600)
    days = [day_json(r, shown[r.day]) for r in results]
    summary = asdict(period)
    summary["start"], summary["end"] = str(summary["start"]), str(summary["end"])
    return {
        "employee": name,
        "policy": {"kind": kind, "document": document},
        "days": days,
        "period": summary,
    }


def day_json(r: DayResult, punches: list[str]) -> dict[str, Any]:
    """A day result as the golden files hold it (times in Berlin)."""
    return {
        "date": r.day.isoformat(),
        "punches": punches,
        "status": r.status.value,
        "first_in": None if r.first_in is None else r.first_in.astimezone(BERLIN).isoformat(),
        "last_out": None if r.last_out is None else r.last_out.astimezone(BERLIN).isoformat(),
        "worked_s": r.worked_s,
        "break_s": r.break_s,
        "late_s": r.late_s,
        "early_leave_s": r.early_leave_s,
        "overtime": dict(r.overtime),
        "balance_delta_s": r.balance_delta_s,
        "core_missed_s": r.core_missed_s,
        "anomalies": list(r.anomalies),
        "explanation": [d.text for d in r.explanation],
    }


@pytest.mark.parametrize("person", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_golden_month(person):
    check_golden(GOLDEN / f"{person[0]}.json", build(*person), update=UPDATE)
