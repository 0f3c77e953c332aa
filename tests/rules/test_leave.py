"""Leave in the day engine: each type, each granularity, the reference times it moves."""

from __future__ import annotations

from datetime import date

import pytest

from rules import load_policy
from rules.leave import day_share, evaluate_with_leave
from rules.leavetypes import LEAVE_TYPES, DayLeave, LeavePart, TargetEffect, leave_type
from rules.vocabulary import DayStatus
from tests.rules.helpers import CAL, FIXED_DOC, FLEX_DOC, LATER, H, M, doc, pairs, punch

TUE = date(2026, 3, 3)
SAT = date(2026, 3, 7)

# 09:00–18:00 with a lunch from 12:00 to 13:30: the afternoon starts at 13:30.
OFFICE = doc(
    FIXED_DOC,
    shift={"start": "09:00", "end": "18:00", "grace_late_min": 5, "grace_early_min": 5},
    target_min=480,
    half_day_leave={"am_end": "12:00", "pm_start": "13:30"},
    overtime={"minimum_min": 30},
    thresholds={"absent_below_min": 60, "half_day_below_min": 240},
)


def office(**changes):
    return load_policy("office", "fixed", doc(OFFICE, **changes))


def flexi(**changes):
    return load_policy("flex", "flexitime", doc(FLEX_DOC, **changes))


def lv(code: str, part: str = "full", start: str = "", end: str = "") -> DayLeave:
    return DayLeave.of(code, part, start, end)


def run(policy, leaves, punches, day=TUE):
    return evaluate_with_leave(policy, day, punches, CAL, LATER, leaves)


def texts(r) -> str:
    return " | ".join(d.text for d in r.explanation)


# (case, leave, punches, status, worked, target, late, early, balance figures checked below)
FULL_DAY: list[tuple[str, str, list[tuple[str, int]], str, int, int]] = [
    ("annual, nobody came", "annual", [], "leave:annual", 0, 0),
    ("sick, nobody came", "sick", [], "leave:sick", 0, 0),
    ("unpaid, nobody came", "unpaid", [], "leave:unpaid", 0, 0),
    ("other, nobody came", "other", [], "leave:other", 0, 0),
    ("trip counts as worked", "business_trip", [], "leave:business_trip", 8 * H, 8 * H),
    ("compensatory keeps the target", "compensatory", [], "leave:compensatory", 0, 8 * H),
]


@pytest.mark.parametrize(
    ("case", "code", "punches", "status", "worked", "target"),
    FULL_DAY,
    ids=[c[0] for c in FULL_DAY],
)
def test_a_full_day_of_leave_is_leave_of_its_type_not_absent(
    case, code, punches, status, worked, target
):
    r = run(office(), [lv(code)], punches)
    assert r.status is DayStatus.LEAVE
    assert r.status_code == status
    assert (r.worked_s, r.target_s, r.late_s, r.early_leave_s) == (worked, target, 0, 0)
    assert LEAVE_TYPES[code].name in texts(r)
    assert r.explanation[-1].outcome == status


def test_without_leave_the_same_day_is_absent():
    r = run(office(), [], [])
    assert r.status is DayStatus.ABSENT


def test_compensatory_time_off_draws_the_day_from_the_balance():
    r = run(flexi(), [lv("compensatory")], [])
    assert r.status_code == "leave:compensatory"
    assert r.balance_delta_s == -8 * H
    assert "drawn from the time balance" in texts(r)


@pytest.mark.parametrize("code", ["annual", "sick", "business_trip"])
def test_paid_leave_and_trips_leave_the_balance_alone(code):
    assert run(flexi(), [lv(code)], []).balance_delta_s == 0


def test_a_punch_during_full_day_leave_is_shown_and_flagged_not_ignored():
    r = run(office(), [lv("sick")], pairs(TUE, "10:00-12:00"))
    assert r.status_code == "leave:sick"
    assert r.punches_used == 2 and r.worked_s == 2 * H
    assert r.first_in is not None
    assert "punched_on_leave" in r.anomalies
    assert "2 punch(es) on a day of leave: shown, worked 2 h" in texts(r)


def test_field_work_punches_are_expected_and_count_beyond_the_target():
    r = run(office(), [lv("field_work")], pairs(TUE, "08:00-18:30"))
    assert r.status_code == "leave:field_work"
    assert "punched_on_leave" not in r.anomalies
    assert r.worked_s == 9 * H + 30 * M  # counted from the 09:00 shift start
    assert r.overtime == {"regular": 1 * H + 30 * M}
    assert r.late_s == 0


def test_morning_leave_measures_lateness_from_the_afternoon_start():
    # The reference case: a morning leave, in at 13:40 with 5 min grace is 10 min late.
    r = run(office(), [lv("annual", "am")], pairs(TUE, "13:40-18:00"))
    assert r.status is DayStatus.LATE
    assert r.late_s == 10 * M
    assert r.target_s == 4 * H
    assert "late 10 min: first in 13:40 > shift start 13:30; grace 5 min" in texts(r)
    assert "lateness measured from the new start" in texts(r)


def test_arriving_in_the_morning_of_a_morning_leave_creates_no_overtime():
    early = run(office(), [lv("annual", "am")], pairs(TUE, "09:00-18:00"))
    on_time = run(office(), [lv("annual", "am")], pairs(TUE, "13:30-18:00"))
    assert early.late_s == 0
    assert early.worked_s == on_time.worked_s == 4 * H + 30 * M  # counted from 13:30
    assert early.overtime == on_time.overtime  # the morning adds nothing
    assert early.outside_s == 4 * H + 30 * M
    assert "4 h 30 min punched outside 13:30–" in texts(early)


def test_afternoon_leave_measures_early_leave_from_the_morning_end():
    on_time = run(office(), [lv("annual", "pm")], pairs(TUE, "09:00-12:00"))
    assert on_time.early_leave_s == 0 and on_time.status is DayStatus.PRESENT
    early = run(office(), [lv("annual", "pm")], pairs(TUE, "09:00-11:30"))
    assert early.early_leave_s == 30 * M
    assert "last out 11:30 < shift end 12:00" in texts(early)


def test_half_day_leave_halves_the_thresholds():
    # 3 h worked on a half day of leave: above half of the 4 h half-day threshold.
    r = run(office(), [lv("annual", "pm")], pairs(TUE, "09:00-12:00"))
    assert r.plan.half_day_below_s == 2 * H
    assert r.status is DayStatus.PRESENT
    assert run(office(), [], pairs(TUE, "09:00-12:00")).status is DayStatus.HALF_DAY


def test_half_day_compensatory_leave_draws_half_the_target():
    r = run(flexi(), [lv("compensatory", "am")], pairs(TUE, "12:00-16:00"))
    assert r.target_s == 8 * H
    assert r.worked_s == 4 * H
    assert r.balance_delta_s == -4 * H


def test_half_day_trip_credits_its_half_as_worked():
    r = run(flexi(), [lv("business_trip", "pm")], pairs(TUE, "08:00-12:00"))
    assert (r.worked_s, r.target_s, r.balance_delta_s) == (8 * H, 8 * H, 0)


def test_flexitime_morning_leave_waives_the_morning_core_hours():
    # Core 10:00–16:00, split at 13:00 by default (halfway between 10:00 and 16:00).
    r = run(flexi(), [lv("annual", "am")], pairs(TUE, "13:00-17:00"))
    assert r.core_missed == ()
    assert r.late_s == 0
    without = run(flexi(), [], pairs(TUE, "13:00-17:00"))
    assert without.core_missed_s == 3 * H


def test_hourly_leave_at_the_start_moves_the_start():
    r = run(office(), [lv("sick", "hours", "09:00", "11:00")], pairs(TUE, "11:10-18:00"))
    assert r.late_s == 10 * M
    assert r.target_s == 6 * H
    assert "sick leave (病假) 09:00–11:00: target reduced by 2 h to 6 h" in texts(r)


def test_hourly_leave_in_the_middle_moves_neither_end():
    r = run(
        office(),
        [lv("unpaid", "hours", "14:00", "15:00")],
        pairs(TUE, "09:00-14:00", "15:00-18:00"),
    )
    assert (r.late_s, r.early_leave_s, r.target_s) == (0, 0, 7 * H)
    assert "lateness" not in texts(r)


def test_a_morning_and_an_afternoon_make_a_whole_day():
    r = run(office(), [lv("annual", "am"), lv("sick", "pm")], [])
    assert r.status_code == "leave:annual"


@pytest.mark.parametrize("day", [SAT, date(2026, 4, 3)], ids=["saturday", "good friday"])
def test_leave_on_a_day_off_is_recorded_but_not_counted(day):
    r = run(office(), [lv("annual")], [], day=day)
    assert r.status in (DayStatus.REST_DAY, DayStatus.HOLIDAY)
    assert "not counted, not a working day" in texts(r)
    assert day_share(office(), CAL, day, lv("annual")) == 0


@pytest.mark.parametrize(
    ("entry", "share"),
    [
        (("annual", "full"), 1.0),
        (("annual", "am"), 0.5),
        (("annual", "pm"), 0.5),
        (("annual", "hours", "09:00", "11:00"), 0.25),
    ],
)
def test_quota_share_of_a_working_day(entry, share):
    assert day_share(office(), CAL, TUE, lv(*entry)) == share


def test_leave_types_say_what_they_do():
    assert leave_type("compensatory").draws_balance
    assert leave_type("business_trip").counts_as_worked
    assert leave_type("field_work").punches_expected and leave_type("field_work").punch_anywhere
    assert not leave_type("unpaid").paid
    assert {t.target for t in LEAVE_TYPES.values()} == set(TargetEffect)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("holiday", "full"), "unknown leave type"),
        (("annual", "evening"), "unknown leave part"),
        (("annual", "hours", "11:00", "09:00"), "start before its end"),
        (("annual", "hours", "9", "11:00"), "not a time of day"),
    ],
)
def test_impossible_entries_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        DayLeave.of(*args)
    assert LeavePart.FULL  # the enum is importable for callers


def test_a_punch_outside_the_day_window_is_still_not_this_days():
    r = run(office(), [lv("annual")], [punch(TUE, "03:00", "in")])
    assert r.punches_used == 0 and "punched_on_leave" not in r.anomalies
