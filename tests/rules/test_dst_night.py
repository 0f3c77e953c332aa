"""Clock changes (Europe/Berlin) and night shifts across midnight and a month end."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from rules import evaluate_day
from rules.vocabulary import DayStatus as S
from tests.rules.helpers import CAL, LATER, H, M, flex, night, pairs, punch

SPRING = date(2026, 3, 29)  # 02:00 → 03:00
AUTUMN = date(2026, 10, 25)  # 03:00 → 02:00
EVERY_DAY = {"rest_days": [], "public_holidays": False}


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (AUTUMN, 25), (date(2026, 3, 3), 24)])
def test_day_length_follows_the_clock_change(day, hours):
    r = evaluate_day(flex(calendar=EVERY_DAY), day, pairs(day, "08:00-16:30"), CAL, LATER)
    assert r.plan.day_length_s == hours * H
    assert r.worked_s == 8 * H  # a daytime span is not touched by a 02:00/03:00 change
    dst = [d.text for d in r.explanation if d.rule == "dst"]
    assert dst == ([] if hours == 24 else [f"this day lasts {hours} h (clock change)"])


@pytest.mark.parametrize(
    ("day", "worked"),
    [
        (date(2026, 3, 28), 7 * H),  # the night the clocks jump forward lasts an hour less
        (date(2026, 10, 24), 9 * H),  # the night they fall back lasts an hour more
        (date(2026, 3, 3), 8 * H),
    ],
)
def test_night_shift_through_a_clock_change(day, worked):
    ps = [punch(day, "22:00"), punch(day, "06:00", "out", plus_days=1)]
    r = evaluate_day(night(), day, ps, CAL, LATER)
    assert r.status is S.PRESENT and r.worked_s == worked
    assert r.late_s == 0 and r.early_leave_s == 0 and r.overtime == {}


def test_flexitime_across_the_autumn_fold_counts_real_time():
    # 01:30–03:30 wall time on the autumn day is three real hours (02:00–03:00 happens twice).
    p = flex(
        calendar=EVERY_DAY,
        flex={"earliest_start": "00:00", "count_outside_band": True},
        breaks={"deductions": []},
    )
    r = evaluate_day(p, AUTUMN, pairs(AUTUMN, "01:30-03:30"), CAL, LATER)
    assert r.worked_s == 3 * H


def test_night_shift_belongs_to_the_day_it_starts_across_a_month_end():
    mar31 = date(2026, 3, 31)
    ps = [punch(mar31, "22:10"), punch(mar31, "06:30", "out", plus_days=1)]
    r = evaluate_day(night(overtime={"minimum_min": 0}), mar31, ps, CAL, LATER)
    assert r.status is S.LATE and r.late_s == 10 * M
    assert r.worked_s == 8 * H + 20 * M and r.overtime == {"regular": 30 * M}
    assert r.first_in is not None and r.first_in.month == 3
    assert r.last_out is not None and r.last_out.month == 4
    texts = [d.text for d in r.explanation]
    assert "late 10 min: first in 22:10 > shift start 22:00; grace 0 min" in texts
    # The same punches do not belong to 1 April: its shift starts that evening.
    apr1 = evaluate_day(night(), date(2026, 4, 1), ps, CAL, LATER)
    assert apr1.status is S.ABSENT and apr1.punches_used == 0


def test_windows_of_consecutive_days_meet_but_never_overlap():
    # 01:00–09:00 with check-in from 23:00 the evening before: windows reach both neighbours.
    p = night(
        shift={
            "start": "01:00",
            "end": "09:00",
            "checkin_before_min": 120,
            "checkout_after_min": 840,
        }
    )
    day = date(2026, 3, 3)
    r = evaluate_day(p, day, [], CAL, LATER)
    nxt = evaluate_day(p, day + timedelta(days=1), [], CAL, LATER)
    assert r.plan.win_end == nxt.plan.win_start
    assert p.reaches_previous_day and not p.reaches_next_day


def test_early_shift_check_in_before_midnight_counts_for_the_next_day():
    p = night(
        shift={
            "start": "01:00",
            "end": "09:00",
            "checkin_before_min": 120,
            "checkout_after_min": 60,
        }
    )
    day = date(2026, 3, 3)
    ps = [punch(day, "23:30", plus_days=-1), punch(day, "09:00", "out")]
    r = evaluate_day(p, day, ps, CAL, LATER)
    assert r.punches_used == 2 and r.worked_s == 8 * H  # counted from the 01:00 start


@pytest.mark.parametrize(
    "policy",
    [
        flex(),
        night(),
        night(
            shift={
                "start": "01:00",
                "end": "09:00",
                "checkin_before_min": 120,
                "checkout_after_min": 840,
            }
        ),
    ],
    ids=["flex", "night", "early"],
)
def test_a_punch_belongs_to_at_most_one_day_all_year(policy):
    from rules.plan import day_plan

    day = date(2026, 1, 1)
    plans = [day_plan(policy, CAL, day + timedelta(days=i)) for i in range(366)]
    for a, b in itertools.pairwise(plans):
        assert a.win_start < a.win_end <= b.win_start
        assert 82_800 <= a.day_length_s <= 90_000
    if policy.flex is not None:  # flexitime days tile the calendar: every punch has a day
        assert all(a.win_end == b.win_start for a, b in itertools.pairwise(plans))
    assert sorted({p.day_length_s for p in plans}) == [82_800, 86_400, 90_000]
