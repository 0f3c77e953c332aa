"""evaluate_period: totals and the balance statement with carry-over cap and floor."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules import evaluate_day, evaluate_period
from tests.rules.helpers import CAL, LATER, H, M, fixed, flex, pairs

WEEK = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]  # Mon–Sun


def week(policy, spans_by_day):
    ps = [p for day, spans in zip(WEEK, spans_by_day, strict=False) for p in pairs(day, *spans)]
    return [evaluate_day(policy, d, ps, CAL, LATER) for d in WEEK]


def test_totals_over_a_week():
    spans = [
        ["08:00-17:00"],
        ["10:30-18:30"],
        ["08:00-15:00"],
        [],
        ["08:00-16:30"],
        ["10:00-12:00"],
        [],
    ]
    res = evaluate_period(week(flex(), spans))
    assert res.days == 7 and res.start == WEEK[0] and res.end == WEEK[-1]
    # Sunday 8 March 2026 is Women's Day, a public holiday in Berlin.
    assert res.statuses == {"present": 3, "late": 1, "absent": 1, "rest_day": 1, "holiday": 1}
    assert res.late_days == 1 and res.late_s == 30 * M
    assert res.early_leave_days == 1 and res.early_leave_s == H
    assert res.target_s == 5 * 8 * H
    assert res.worked_s == (8 * H + 30 * M) + (7 * H + 30 * M) + (6 * H + 30 * M) + 8 * H + 2 * H
    assert res.overtime == {"regular": 30 * M, "rest_day": 2 * H}
    assert res.balance is not None and res.balance.change_s == res.worked_s - 2 * H - res.target_s


@pytest.mark.parametrize(
    ("opening", "cap", "floor", "carried", "forfeited", "shortfall"),
    [
        (0, 600, -300, -8 * H - 30 * M, 0, 3 * H + 30 * M),  # deficit kept, beyond floor flagged
        (20 * H, 600, -300, 10 * H, 1 * H + 30 * M, 0),  # 11 h 30 left, 10 h carried
        (9 * H, None, None, 30 * M, 0, 0),
    ],
)
def test_balance_statement_caps_and_floors(opening, cap, floor, carried, forfeited, shortfall):
    # One absent day (−8 h) and one 30-minute-short day: change −8 h 30.
    policy = flex(balance={"carry_cap_min": cap, "carry_floor_min": floor})
    days = week(policy, [[], ["08:00-16:00"]])[:2]
    st = evaluate_period(days, opening_balance_s=opening).balance
    assert st is not None
    assert st.change_s == -8 * H - 30 * M
    assert st.closing_s == opening - 8 * H - 30 * M
    assert (st.carried_s, st.forfeited_s, st.shortfall_s) == (carried, forfeited, shortfall)


def test_no_statement_without_a_balance():
    assert evaluate_period(week(fixed(), [["09:00-17:00"]])).balance is None
    assert evaluate_period([]).days == 0
