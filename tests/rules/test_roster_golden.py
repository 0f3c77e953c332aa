"""Golden month: a factory worker on the `E E L L N N - -` rotation in Berlin, March 2026.

The night of 28→29 March spans the spring clock change (7 h of real time), 8 March is
Berlin's Women's Day (an early shift on a public holiday), and a day entry swaps 31 March
to a night shift crossing the month end, followed by a day off on 1 April. The file holds
the roster, the punches and every figure with its explanation. Regenerate on purpose only:
PUNCHGATE_UPDATE_GOLDEN=1 pytest tests/rules/test_roster_golden.py
"""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

from rules import Punch, evaluate_day, evaluate_period, load_policy
from rules.roster import Assignment, EmployeeRoster, Rostering
from rules.shifts import load_shift_type, make_pattern
from rules.vocabulary import PunchState
from tests.rules.helpers import CAL, FIXED_DOC, LATER, at, doc
from tests.rules.test_golden import GOLDEN, MONTH, UPDATE, day_json

BASE = doc(
    FIXED_DOC,
    breaks={"deductions": [{"after_min": 360, "break_min": 30}], "min_break_min": 15},
    overtime={"basis": "after_shift_end", "minimum_min": 30, "round_min": 15},
)
SHIFTS = [
    {
        "code": "E",
        "name": "Early",
        "shift": {"start": "06:00", "end": "14:00", "grace_late_min": 5},
    },
    {"code": "L", "name": "Late", "shift": {"start": "14:00", "end": "22:00", "grace_late_min": 5}},
    {
        "code": "N",
        "name": "Night",
        "shift": {"start": "22:00", "end": "06:00", "grace_late_min": 5, "checkout_after_min": 240},
    },
]
ANCHOR = date(2026, 2, 27)  # 28 March is the second night of the cycle
SWAPS = {date(2026, 3, 31): "N", date(2026, 4, 1): "-"}
START = {"E": 6 * 60, "L": 14 * 60, "N": 22 * 60}


def build() -> dict[str, Any]:
    types = {str(t["code"]): load_shift_type(t) for t in SHIFTS}
    pattern = make_pattern("three-shift", "cycle", "E E L L N N - -", ANCHOR, set(types))
    roster = EmployeeRoster(own=(Assignment(pattern, ANCHOR, None),), days=SWAPS)
    policy = load_policy("factory", "fixed", BASE)
    rostering = Rostering(types)
    rnd = random.Random(15)
    everything: list[Punch] = []
    shown: dict[date, list[str]] = {}
    planned: dict[date, str] = {}
    for day in MONTH:
        code = roster.planned(day)[0]  # type: ignore[index]
        assert code is not None
        planned[day] = code
        shown[day] = []
        if code not in START or rnd.random() < 0.04:  # rest day, or absent
            continue
        arrive = START[code] + round(rnd.gauss(-4, 6))
        leave = START[code] + 480 + round(rnd.gauss(5, 10))
        punches = [(arrive, "in")]
        if rnd.random() >= 0.05:  # sometimes no check-out
            punches.append((leave, "out"))
        for minutes, state in punches:
            plus, m = divmod(minutes, 1440)
            hhmm = f"{m // 60:02d}:{m % 60:02d}"
            everything.append(Punch(len(everything) + 1, at(day, hhmm, plus), PunchState(state)))
            shown[day].append(f"{hhmm}{' +1d' if plus else ''} {state}")
    everything.sort(key=lambda p: p.ts)
    results, days = [], []
    for day in MONTH:
        rd = rostering.day(roster, (policy, policy, policy), CAL, day, everything)
        assert rd is not None
        r = evaluate_day(rd.policy, day, everything, CAL, LATER, plan=rd.plan)
        results.append(r)
        out = day_json(r, shown[day])
        out["rostered"] = planned[day]
        out["explanation"].insert(0, rd.decision.text)
        days.append(out)
    period = evaluate_period(results)
    return {
        "employee": "three_shift",
        "policy": {"kind": "fixed", "document": BASE},
        "shift_types": SHIFTS,
        "pattern": {"codes": "E E L L N N - -", "anchor": ANCHOR.isoformat()},
        "day_entries": {d.isoformat(): c for d, c in SWAPS.items()},
        "days": days,
        "period": {
            "statuses": period.statuses,
            "worked_s": period.worked_s,
            "target_s": period.target_s,
            "late_days": period.late_days,
            "overtime": period.overtime,
        },
    }


def test_golden_month_of_a_rotating_three_shift_worker():
    got = json.loads(json.dumps(build(), ensure_ascii=False))
    path = GOLDEN / "roster_three_shift.json"
    if UPDATE:
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    for want, have in zip(expected["days"], got["days"], strict=True):
        assert have == want, want["date"]
    assert got == expected
    by_date = {d["date"]: d for d in got["days"]}
    dst_night = by_date["2026-03-28"]
    assert dst_night["rostered"] == "N"
    # 22:07 to 06:12 on the wall clock is 7 h 5 min of real time, less the 30 min break.
    assert dst_night["worked_s"] == (7 * 60 + 5 - 30) * 60
    month_end = by_date["2026-03-31"]
    assert month_end["rostered"] == "N" and month_end["explanation"][0].endswith(
        "a roster entry for this day"
    )
