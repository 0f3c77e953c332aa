"""Pairing modes, repeats, voids, missing check-outs, provisional days, and the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rules import Punch, evaluate_day
from rules.vocabulary import DayStatus as S
from rules.vocabulary import PunchFlag, PunchState
from tests.rules.helpers import CAL, LATER, H, M, at, fixed, flex, pairs, punch

TUE = date(2026, 3, 3)


def test_repeats_within_the_collapse_window_are_dropped():
    ps = [punch(TUE, "08:00"), Punch(999, at(TUE, "08:00").replace(second=30), PunchState.IN)]
    ps += [punch(TUE, "16:30", "out")]
    r = evaluate_day(flex(), TUE, ps, CAL, LATER)
    assert r.collapsed == 1 and r.worked_s == 8 * H and "double_in" not in r.anomalies


def test_a_void_record_cancels_the_punch_it_names():
    wrong = punch(TUE, "12:00", "out", id=501)
    ps = [punch(TUE, "08:00"), wrong, punch(TUE, "16:30", "out")]
    void = Punch(502, at(TUE, "18:00"), PunchState.VOID, voids=501)
    before = evaluate_day(flex(), TUE, ps, CAL, LATER)
    after = evaluate_day(flex(), TUE, [*ps, void], CAL, LATER)
    assert before.worked_s == 4 * H and "out_without_in" in before.anomalies
    assert after.worked_s == 8 * H and after.voided == 1 and after.anomalies == ()
    texts = [d.text for d in after.explanation]
    assert "1 punch(es) cancelled by a void record" in texts


@pytest.mark.parametrize(
    ("mode", "states", "worked", "breaks"),
    [
        ("by_state", ["in", "out", "in", "out"], 7 * H + 30 * M, 30 * M),
        ("by_state", ["in", "break_out", "break_in", "out"], 7 * H + 30 * M, 30 * M),
        ("by_state", ["unknown"] * 4, 7 * H + 30 * M, 30 * M),
        ("alternating", ["in", "in", "out", "out"], 7 * H + 30 * M, 30 * M),
        ("first_last", ["in", "out", "in", "out"], 8 * H, 0),
    ],
)
def test_pairing_modes(mode, states, worked, breaks):
    times = ["08:00", "12:00", "12:30", "16:00"]
    ps = [punch(TUE, t, s) for t, s in zip(times, states, strict=True)]
    p = flex(pairing={"mode": mode}, breaks={"deductions": []})
    r = evaluate_day(p, TUE, ps, CAL, LATER)
    assert (r.worked_s, r.break_s) == (worked, breaks)


def test_double_in_keeps_the_earlier_and_is_flagged():
    ps = [punch(TUE, "08:00"), punch(TUE, "09:00"), punch(TUE, "16:00", "out")]
    r = evaluate_day(flex(breaks={"deductions": []}), TUE, ps, CAL, LATER)
    assert r.worked_s == 8 * H and "double_in" in r.anomalies


def test_missing_check_out_is_incomplete_with_a_best_effort_figure():
    ps = [*pairs(TUE, "08:00-12:00"), punch(TUE, "13:00")]
    r = evaluate_day(flex(), TUE, ps, CAL, LATER)
    assert r.status is S.INCOMPLETE and "missing_checkout" in r.anomalies
    assert r.worked_s == 4 * H and r.last_out is None and r.early_leave_s == 0
    assert any(d.outcome == "incomplete" for d in r.explanation)


def test_automatic_check_out_closes_the_day_at_the_shift_end():
    p = fixed(pairing={"auto_checkout": True})
    r = evaluate_day(p, TUE, [punch(TUE, "09:00")], CAL, LATER)
    assert r.status is S.PRESENT and r.worked_s == 8 * H and "auto_checkout" in r.anomalies
    p = fixed(pairing={"auto_checkout": True, "auto_checkout_at": "16:00"})
    assert evaluate_day(p, TUE, [punch(TUE, "09:00")], CAL, LATER).worked_s == 7 * H


def test_open_window_is_provisional_and_not_yet_incomplete():
    now = at(TUE, "12:00")
    r = evaluate_day(flex(), TUE, [punch(TUE, "08:00")], CAL, now)
    assert r.status is S.PROVISIONAL and r.provisional
    assert r.balance_delta_s == 0  # the account moves when the day closes
    assert "balance counted once the day closes" in [d.text for d in r.explanation]
    assert "missing_checkout" not in r.anomalies and r.core_missed == ()
    assert r.explanation[-1].text.startswith(
        "provisional: the punch window closes 2026-03-04 00:00"
    )
    later = evaluate_day(flex(), TUE, [punch(TUE, "08:00")], CAL, at(TUE, "00:00", plus_days=1))
    assert later.status is S.INCOMPLETE and not later.provisional


def test_no_punches_is_provisional_until_the_window_closes_then_absent():
    assert evaluate_day(flex(), TUE, [], CAL, at(TUE, "23:59")).status is S.PROVISIONAL
    r = evaluate_day(flex(), TUE, [], CAL, at(TUE, "00:00", plus_days=1))
    assert r.status is S.ABSENT and r.explanation[-1].text.startswith("absent: no punches")


@pytest.mark.parametrize(
    ("day", "status", "category", "name"),
    [
        (date(2026, 3, 7), S.REST_DAY, "rest_day", None),  # Saturday
        (date(2026, 4, 3), S.HOLIDAY, "holiday", "Good Friday"),
        (date(2027, 3, 8), S.HOLIDAY, "holiday", "Women's Day"),  # Berlin only
    ],
)
def test_work_on_rest_days_and_holidays_is_its_own_overtime(day, status, category, name):
    r = evaluate_day(flex(), day, pairs(day, "10:00-14:00"), CAL, LATER)
    assert r.status is status and r.overtime == {category: 4 * H}
    assert r.late_s == 0 and r.early_leave_s == 0 and r.balance_delta_s == 0
    assert r.plan.holiday == name
    credited = evaluate_day(
        flex(balance={"rest_day_work_counts": True}), day, pairs(day, "10:00-14:00"), CAL, LATER
    )
    assert credited.balance_delta_s == 4 * H


def test_holiday_without_work_is_a_holiday_not_an_absence():
    r = evaluate_day(flex(), date(2026, 5, 1), [], CAL, LATER)
    assert r.status is S.HOLIDAY and r.balance_delta_s == 0 and r.target_s == 0


def test_public_holidays_can_be_ignored_and_company_holidays_added():
    p = flex(
        calendar={
            "public_holidays": False,
            "company_holidays": [{"date": "2026-03-03", "name": "Offsite"}],
        }
    )
    assert evaluate_day(p, date(2026, 4, 3), [], CAL, LATER).status is S.ABSENT
    r = evaluate_day(p, TUE, [], CAL, LATER)
    assert r.status is S.HOLIDAY and r.plan.holiday == "Offsite"


def test_half_day_halves_the_target_and_skips_early_leave():
    p = flex(
        calendar={"half_days": [{"date": "2026-12-24", "name": "Christmas Eve"}]},
        thresholds={"half_day_below_min": 300},
    )
    day = date(2026, 12, 24)
    r = evaluate_day(p, day, pairs(day, "08:00-12:00"), CAL, LATER)
    assert r.target_s == 4 * H and r.balance_delta_s == 0 and r.early_leave_s == 0
    assert r.status is S.PRESENT  # 4 h is above the halved 2 h 30 half-day threshold
    assert r.core_missed == ()


def test_rest_days_are_per_policy():
    p = flex(calendar={"rest_days": ["fri", "sat", "sun"]})
    fri = date(2026, 3, 6)
    assert evaluate_day(p, fri, [], CAL, LATER).status is S.REST_DAY
    assert evaluate_day(flex(), fri, [], CAL, LATER).status is S.ABSENT


def test_punch_times_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        Punch(1, datetime(2026, 3, 3, 8, 0), PunchState.IN)
    assert Punch(1, datetime(2026, 3, 3, 8, 0, tzinfo=UTC), PunchState.IN).ts == 1772524800.0
    with pytest.raises(ValueError, match="aware"):
        evaluate_day(flex(), TUE, [], CAL, datetime(2026, 3, 4))


def test_flagged_punches_are_an_anomaly_with_the_flag_names():
    ps = [
        punch(TUE, "08:00", flags=int(PunchFlag.OUTSIDE_FENCE | PunchFlag.LOW_ACCURACY)),
        punch(TUE, "16:30", "out"),
    ]
    r = evaluate_day(flex(), TUE, ps, CAL, LATER)
    assert "flagged_punches" in r.anomalies and r.worked_s == 8 * H
    texts = [d.text for d in r.explanation]
    assert "punches carry flags HR should check: outside_fence, low_accuracy" in texts
    assert evaluate_day(flex(), TUE, pairs(TUE, "08:00-16:30"), CAL, LATER).anomalies == ()
