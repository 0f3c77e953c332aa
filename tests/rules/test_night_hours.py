"""Night hours: counted time inside the policy's night window, across midnight and DST."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import PolicyError, Punch, evaluate_day, load_policy
from rules.leave import evaluate_with_leave
from rules.leavetypes import DayLeave
from rules.vocabulary import PunchState
from tests.rules.helpers import (
    BERLIN,
    CAL,
    FIXED_DOC,
    LATER,
    H,
    M,
    at,
    doc,
    fixed,
    flex,
    night,
    pairs,
    punch,
)

NIGHT = {"start": "22:00", "end": "06:00"}
DAY = date(2026, 3, 3)  # a Tuesday, no clock change
SPRING = date(2026, 3, 28)  # the night into Sunday 29 March loses an hour (02:00 → 03:00)
AUTUMN = date(2026, 10, 24)  # the night into Sunday 25 October gains one (03:00 → 02:00)
EVERY_DAY = {"rest_days": [], "public_holidays": False}


def _night_shift(day, start="22:00", end="06:00"):
    return [punch(day, start), punch(day, end, "out", plus_days=1 if end < "12:00" else 0)]


CASES = [
    ("night shift 22–06", DAY, night(night=NIGHT), _night_shift(DAY), 8 * H, 8 * H),
    (
        "night shift from 21:00: one hour before the window",
        DAY,
        night(night=NIGHT, shift={"start": "21:00", "end": "05:00"}),
        _night_shift(DAY, "21:00", "05:00"),
        7 * H,
        8 * H,
    ),
    (
        "evening overlap: 14:00–23:30 has 1 h 30 min of night",
        DAY,
        fixed(night=NIGHT, shift={"start": "14:00", "end": "22:00"}, calendar=EVERY_DAY),
        pairs(DAY, "14:00-23:30"),
        90 * M,
        9 * H + 30 * M,
    ),
    (
        "early morning: 04:30–13:00 on a 05:00 shift counts 05:00–06:00 as night",
        DAY,
        fixed(night=NIGHT, shift={"start": "05:00", "end": "13:00"}, calendar=EVERY_DAY),
        pairs(DAY, "04:30-13:00"),
        1 * H,  # the half hour before the shift start is not counted, so not night work
        8 * H,
    ),
    (
        "a day shift has none",
        DAY,
        fixed(night=NIGHT),
        pairs(DAY, "09:00-17:00"),
        0,
        8 * H,
    ),
    (
        "spring-forward night lasts 7 h, all of it night",
        SPRING,
        night(night=NIGHT),
        _night_shift(SPRING),
        7 * H,
        7 * H,
    ),
    (
        "autumn night lasts 9 h, all of it night",
        AUTUMN,
        night(night=NIGHT),
        _night_shift(AUTUMN),
        9 * H,
        9 * H,
    ),
    (
        "spring night from 20:00 to 04:00 wall time: 22:00–04:00 is 5 real hours",
        SPRING,
        night(night=NIGHT, shift={"start": "20:00", "end": "04:00"}),
        _night_shift(SPRING, "20:00", "04:00"),
        5 * H,
        7 * H,
    ),
    (
        "a break inside the night is not night work",
        DAY,
        night(night=NIGHT),
        [
            punch(DAY, "22:00"),
            punch(DAY, "02:00", "break_out", plus_days=1),
            punch(DAY, "02:30", "break_in", plus_days=1),
            punch(DAY, "06:00", "out", plus_days=1),
        ],
        7 * H + 30 * M,
        7 * H + 30 * M,
    ),
    (
        "night 23:00–05:00 from the policy, not a fixed 22–06",
        DAY,
        night(night={"start": "23:00", "end": "05:00"}),
        _night_shift(DAY),
        6 * H,
        8 * H,
    ),
]


@pytest.mark.parametrize(
    ("case", "day", "policy", "punches", "night_s", "worked_s"), CASES, ids=[c[0] for c in CASES]
)
def test_night_minutes(case, day, policy, punches, night_s, worked_s):
    r = evaluate_day(policy, day, punches, CAL, LATER)
    assert (r.night_s, r.worked_s) == (night_s, worked_s), case


def test_no_night_window_counts_no_night_time():
    r = evaluate_day(night(), DAY, _night_shift(DAY), CAL, LATER)
    assert r.night_s == 0
    assert not [d for d in r.explanation if d.rule == "night"]


def test_night_is_at_most_the_worked_time_when_a_break_is_deducted():
    p = night(night=NIGHT, breaks={"deductions": [{"after_min": 360, "break_min": 30}]})
    r = evaluate_day(p, DAY, _night_shift(DAY), CAL, LATER)
    assert r.worked_s == 7 * H + 30 * M
    assert r.night_s == r.worked_s
    (why,) = [d for d in r.explanation if d.rule == "night"]
    assert why.outcome == "worked"
    assert why.text == (
        "night work 7 h 30 min: counted time between 22:00–06:00 "
        "(at most the day's worked time, break deduction included)"
    )


def test_explanation_names_the_night_window():
    r = evaluate_day(
        fixed(night=NIGHT, shift={"start": "14:00", "end": "22:00"}, calendar=EVERY_DAY),
        DAY,
        pairs(DAY, "14:00-23:30"),
        CAL,
        LATER,
    )
    texts = {d.outcome: d.text for d in r.explanation if d.rule == "night"}
    assert texts == {"worked": "night work 1 h 30 min: counted time between 22:00–06:00"}
    day = evaluate_day(fixed(night=NIGHT), DAY, pairs(DAY, "09:00-17:00"), CAL, LATER)
    assert day.night_s == 0
    assert not [d for d in day.explanation if d.rule == "night"]  # no finding, no noise


def test_flexitime_counts_night_in_its_band_only():
    p = flex(
        night=NIGHT,
        calendar=EVERY_DAY,
        flex={"latest_end": "23:00"},
        breaks={"deductions": []},
    )
    r = evaluate_day(p, DAY, pairs(DAY, "15:00-23:45"), CAL, LATER)
    assert r.night_s == 1 * H  # 22:00–23:00; after the band's end nothing counts
    assert r.outside_s == 45 * M


def test_night_survives_leave_and_a_rest_day():
    p = night(night=NIGHT, calendar={"rest_days": ["sun"], "public_holidays": False})
    sunday = date(2026, 3, 8)
    r = evaluate_day(p, sunday, _night_shift(sunday), CAL, LATER)
    assert r.overtime == {"rest_day": 8 * H} and r.night_s == 8 * H
    trip = evaluate_with_leave(
        p, DAY, _night_shift(DAY), CAL, LATER, (DayLeave.of("field_work", "full"),)
    )
    assert trip.status_code == "leave:field_work" and trip.night_s == 8 * H


@pytest.mark.parametrize(
    ("night_doc", "problem"),
    [
        ({"start": "22:00", "end": "22:00"}, "starts and ends at the same time"),
        ({"start": "25:00", "end": "06:00"}, "is not a time of day"),
        ({"start": "22:00"}, "night.end: Field required"),
        ({"start": "22:00", "end": "06:00", "premium": 25}, "Extra inputs are not permitted"),
    ],
)
def test_night_window_is_validated(night_doc, problem):
    with pytest.raises(PolicyError, match=problem):
        load_policy("bad", "fixed", doc(FIXED_DOC, night=night_doc))


def test_night_window_read_as_documented():
    p = load_policy("ok", "fixed", doc(FIXED_DOC, night={"start": "22:00", "end": "06:00"}))
    assert p.night is not None
    assert (p.night.start_s, p.night.end_s) == (22 * H, 30 * H)
    p = load_policy("ok", "fixed", doc(FIXED_DOC, night={"start": "00:00", "end": "05:00"}))
    assert p.night is not None and (p.night.start_s, p.night.end_s) == (0, 5 * H)


@settings(max_examples=200, deadline=None)
@given(
    day=st.sampled_from([DAY, SPRING, AUTUMN]),
    minutes=st.lists(st.integers(0, 13 * 60 - 1), min_size=2, max_size=8, unique=True),
)
def test_night_equals_the_minutes_lived_inside_the_window(day, minutes):
    # A 22:00–06:00 shift counted from 20:00 to 10:00 (13 real hours on the spring night),
    # arriving early counted, no deduction:
    # each real minute worked counts as night when the wall clock then reads 22:00–06:00.
    p = night(
        night=NIGHT,
        shift={"count_early_arrival": True, "checkout_after_min": 240},
        pairing={"mode": "alternating", "collapse_seconds": 0},
    )
    start = at(day, "20:00")
    marks = sorted(minutes)[: len(minutes) // 2 * 2]
    ps = [
        Punch(i + 1, start + timedelta(minutes=m), PunchState.UNKNOWN) for i, m in enumerate(marks)
    ]
    r = evaluate_day(p, day, ps, CAL, LATER)
    lived = 0
    for a, b in zip(marks[::2], marks[1::2], strict=True):
        for m in range(a, b):
            wall = (start + timedelta(minutes=m)).astimezone(BERLIN)
            lived += 60 * (wall.hour >= 22 or wall.hour < 6)
    assert r.night_s == lived <= r.worked_s
