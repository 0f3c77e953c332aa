"""Table tests for evaluate_day: lateness, early leave, breaks, thresholds, overtime, balance."""

from __future__ import annotations

from datetime import date

import pytest

from rules import evaluate_day
from rules.vocabulary import DayStatus as S
from tests.rules.helpers import CAL, LATER, H, M, fixed, flex, pairs, punch

TUE = date(2026, 3, 3)
FLEX = flex()
FIXED = fixed()

# spans, status, worked, late, early, regular overtime, balance, core missed
FLEX_CASES = [
    ("on time", ["08:00-16:30"], S.PRESENT, 8 * H, 0, 0, 0, 0, 0),
    ("late 12 min", ["10:12-18:42"], S.LATE, 8 * H, 12 * M, 0, 0, 0, 12 * M),
    # A break inside core hours is core-hours absence; split the core around lunch to allow it.
    (
        "punched lunch meets the table",
        ["08:00-12:00", "12:30-16:30"],
        S.PRESENT,
        8 * H,
        0,
        0,
        0,
        0,
        30 * M,
    ),
    (
        "10 min break is below the minimum",
        ["08:00-12:00", "12:10-16:30"],
        S.PRESENT,
        7 * H + 50 * M,
        0,
        0,
        0,
        -10 * M,
        10 * M,
    ),
    ("left early, misses core", ["07:00-15:00"], S.PRESENT, 7 * H + 30 * M, 0, H, 0, -30 * M, H),
    (
        "before the band is not counted",
        ["06:00-16:00"],
        S.PRESENT,
        8 * H + 30 * M,
        0,
        0,
        30 * M,
        30 * M,
        0,
    ),
    (
        "long day: 45 min table row",
        ["07:00-19:00"],
        S.PRESENT,
        11 * H + 15 * M,
        0,
        0,
        3 * H + 15 * M,
        3 * H + 15 * M,
        0,
    ),
    ("cap at the threshold", ["08:00-14:10"], S.PRESENT, 6 * H, 0, 110 * M, 0, -2 * H, 110 * M),
    ("short day", ["10:00-12:00"], S.PRESENT, 2 * H, 0, 4 * H, 0, -6 * H, 4 * H),
    ("no punches", [], S.ABSENT, 0, 0, 0, 0, -8 * H, 0),
]


@pytest.mark.parametrize(
    ("spans", "status", "worked", "late", "early", "ot", "balance", "core"),
    [pytest.param(*c[1:], id=c[0]) for c in FLEX_CASES],
)
def test_flexitime_day(spans, status, worked, late, early, ot, balance, core):
    r = evaluate_day(FLEX, TUE, pairs(TUE, *spans), CAL, LATER)
    assert (r.status, r.worked_s, r.late_s, r.early_leave_s) == (status, worked, late, early)
    assert r.overtime.get("regular", 0) == ot
    assert r.balance_delta_s == balance
    assert r.core_missed_s == core
    assert ("core_hours_missed" in r.anomalies) == bool(core)


FIXED_CASES = [
    (
        "early arrival not counted, 5 min over",
        ["08:55-17:05"],
        S.PRESENT,
        8 * H + 5 * M,
        0,
        0,
        5 * M,
    ),
    ("inside late grace", ["09:04-17:00"], S.PRESENT, 8 * H - 4 * M, 0, 0, 0),
    ("late beyond grace", ["09:06-17:00"], S.LATE, 8 * H - 6 * M, 6 * M, 0, 0),
    ("early beyond grace", ["09:00-16:54"], S.PRESENT, 8 * H - 6 * M, 0, 6 * M, 0),
    ("inside early grace", ["09:00-16:56"], S.PRESENT, 8 * H - 4 * M, 0, 0, 0),
]


@pytest.mark.parametrize(
    ("spans", "status", "worked", "late", "early", "ot"),
    [pytest.param(*c[1:], id=c[0]) for c in FIXED_CASES],
)
def test_fixed_shift_day(spans, status, worked, late, early, ot):
    r = evaluate_day(FIXED, TUE, pairs(TUE, *spans), CAL, LATER)
    assert (r.status, r.worked_s, r.late_s, r.early_leave_s) == (status, worked, late, early)
    assert r.overtime.get("regular", 0) == ot
    assert r.balance_delta_s == 0  # no balance on fixed shifts unless enabled


AFTER_END = {"basis": "after_shift_end", "minimum_min": 30, "round_min": 15, "daily_cap_min": 120}


@pytest.mark.parametrize(
    ("overtime", "spans", "expected"),
    [
        pytest.param(AFTER_END, ["09:00-17:20"], 0, id="below minimum"),
        pytest.param(AFTER_END, ["09:00-17:44"], 30 * M, id="rounded down to 15"),
        pytest.param(AFTER_END, ["09:00-20:00"], 2 * H, id="capped"),
        pytest.param(AFTER_END, ["07:00-17:00"], 0, id="early start is not overtime after end"),
        pytest.param({"round_min": 15, "rounding": "up"}, ["09:00-17:31"], 45 * M, id="round up"),
        pytest.param(
            {"round_min": 15, "rounding": "nearest"}, ["09:00-17:37"], 30 * M, id="nearest down"
        ),
        pytest.param(
            {"round_min": 15, "rounding": "nearest"}, ["09:00-17:38"], 45 * M, id="nearest up"
        ),
        pytest.param({"minimum_min": 10}, ["09:00-17:09"], 0, id="beyond target below minimum"),
    ],
)
def test_overtime_rules(overtime, spans, expected):
    r = evaluate_day(fixed(overtime=overtime), TUE, pairs(TUE, *spans), CAL, LATER)
    assert r.overtime.get("regular", 0) == expected


@pytest.mark.parametrize(
    ("worked_span", "status"),
    [("09:00-09:30", S.ABSENT), ("09:00-12:00", S.HALF_DAY), ("09:00-14:00", S.PRESENT)],
)
def test_thresholds(worked_span, status):
    p = fixed(thresholds={"absent_below_min": 60, "half_day_below_min": 240})
    assert evaluate_day(p, TUE, pairs(TUE, worked_span), CAL, LATER).status is status


@pytest.mark.parametrize(
    ("worked_h", "punched_break_min", "expected_deduction_min", "cap"),
    [
        (5, 0, 0, True),
        (6, 0, 0, True),  # exactly 6 h: the 30 min row starts *after* 6 h
        (6.25, 0, 15, True),  # capped: 6 h 15 becomes 6 h, not 5 h 45
        (6.25, 0, 30, False),
        (8, 0, 30, True),
        (8, 20, 10, True),  # a 20 min punched break counts; 10 more deducted
        (8, 10, 30, True),  # a 10 min break is under the 15 min minimum
        (9.5, 0, 30, True),  # 9 h 30 − 30 = 9 h: not over 9 h, so 30 suffice
        (9.75, 0, 45, True),
        (10, 30, 15, True),
    ],
)
def test_break_deduction_table(worked_h, punched_break_min, expected_deduction_min, cap):
    p = flex(breaks={"cap_at_threshold": cap}, flex={"count_outside_band": True})
    start = 8 * H
    first_end = start + 3 * H
    second_start = first_end + punched_break_min * M
    end = second_start + round(worked_h * H) - 3 * H
    if punched_break_min:
        spans = [_span(start, first_end), _span(second_start, end)]
    else:
        spans = [_span(start, start + round(worked_h * H))]
    r = evaluate_day(p, TUE, pairs(TUE, *spans), CAL, LATER)
    assert r.deducted_s == expected_deduction_min * M
    assert r.worked_s == round(worked_h * H) - expected_deduction_min * M


def _span(a: int, b: int) -> str:
    return f"{a // H:02d}:{a % H // M:02d}-{b // H:02d}:{b % H // M:02d}"


def test_max_daily_work_is_flagged():
    r = evaluate_day(FLEX, TUE, pairs(TUE, "07:00-18:30"), CAL, LATER)
    assert r.worked_s == 10 * H + 45 * M and "max_daily_exceeded" in r.anomalies
    r = evaluate_day(FLEX, TUE, pairs(TUE, "07:00-17:00"), CAL, LATER)
    assert "max_daily_exceeded" not in r.anomalies


def test_explanation_names_the_rule_parameters_and_times():
    r = evaluate_day(FLEX, TUE, pairs(TUE, "10:12-18:42"), CAL, LATER)
    texts = [d.text for d in r.explanation]
    assert "late 12 min: first in 10:12 > latest start 10:00; grace 0 min" in texts
    assert "absent during core hours 10:00–10:12 (12 min)" in texts
    assert any(t.startswith("break deducted 30 min, worked 8 h:") for t in texts)
    assert texts[-1] == "late"
    rules = [d.rule for d in r.explanation]
    assert rules.index("late") < rules.index("status")


def test_fixed_explanation_mentions_grace_and_overtime():
    p = fixed(overtime=AFTER_END)
    r = evaluate_day(p, TUE, pairs(TUE, "09:06-17:44"), CAL, LATER)
    texts = [d.text for d in r.explanation]
    assert "late 6 min: first in 09:06 > shift start 09:00; grace 5 min" in texts
    assert "overtime 30 min: 44 min after shift end 17:00; rounded down to 15 min" in texts


def test_core_hours_split_around_lunch_allow_the_break():
    p = flex(
        flex={"core": [{"start": "10:00", "end": "12:00"}, {"start": "13:00", "end": "16:00"}]}
    )
    r = evaluate_day(p, TUE, pairs(TUE, "08:00-12:00", "12:30-16:30"), CAL, LATER)
    assert r.core_missed == () and r.worked_s == 8 * H


def test_targets_and_core_hours_per_weekday():
    p = flex(
        target_min={"mon": 480, "tue": 480, "wed": 480, "thu": 480, "fri": 360},
        flex={
            "core": {
                "fri": [{"start": "09:00", "end": "12:00"}],
                "tue": [{"start": "10:00", "end": "15:00"}],
            }
        },
    )
    fri = date(2026, 3, 6)
    r = evaluate_day(p, fri, pairs(fri, "08:00-14:30"), CAL, LATER)
    assert (r.target_s, r.worked_s, r.balance_delta_s) == (6 * H, 6 * H, 0)
    assert r.core_missed == () and r.early_leave_s == 90 * M  # earliest end is 16:00 every day
    r = evaluate_day(p, TUE, pairs(TUE, "08:00-14:30"), CAL, LATER)
    assert (r.target_s, r.core_missed_s) == (8 * H, 30 * M)


def test_day_boundary_gives_late_night_work_to_the_day_before():
    p = flex(flex={"day_boundary": "04:00", "latest_end": "23:59", "count_outside_band": True})
    ps = [*pairs(TUE, "14:00-18:00"), punch(TUE, "20:00"), punch(TUE, "01:30", "out", plus_days=1)]
    r = evaluate_day(p, TUE, ps, CAL, LATER)
    assert r.worked_s == 9 * H + 30 * M and r.deducted_s == 0  # the 2 h gap is the break
    wed = evaluate_day(p, date(2026, 3, 4), ps, CAL, LATER)
    assert wed.punches_used == 0
