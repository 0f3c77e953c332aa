"""Properties that hold for any punches: order and repeats do not matter, figures are sane."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Punch, evaluate_day
from rules.vocabulary import PunchState
from tests.rules.helpers import CAL, LATER, at, fixed, flex, night

POLICIES = [
    flex(),
    flex(pairing={"mode": "alternating"}),
    flex(pairing={"mode": "first_last", "collapse_seconds": 0}),
    fixed(overtime={"basis": "after_shift_end", "round_min": 15, "rounding": "up"}),
    fixed(pairing={"auto_checkout": True}),
    night(),
]
DAYS = [
    date(2026, 3, 3),
    date(2026, 3, 28),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 3, 31),
]
STATES = [
    PunchState.IN,
    PunchState.OUT,
    PunchState.BREAK_OUT,
    PunchState.BREAK_IN,
    PunchState.UNKNOWN,
]


@st.composite
def days_with_punches(draw):
    day = draw(st.sampled_from(DAYS))
    policy_index = draw(st.integers(0, len(POLICIES) - 1))
    base = at(day, "00:00") - timedelta(hours=6)
    offsets = draw(st.lists(st.integers(0, 42 * 3600), max_size=8))
    states = draw(st.lists(st.sampled_from(STATES), min_size=len(offsets), max_size=len(offsets)))
    punches = [
        Punch(i + 1, base + timedelta(seconds=o), s)
        for i, (o, s) in enumerate(zip(offsets, states, strict=True))
    ]
    if punches and draw(st.booleans()):  # HR voided one of them
        target = draw(st.sampled_from(punches))
        punches.append(Punch(10_000, base + timedelta(hours=40), PunchState.VOID, voids=target.id))
    return POLICIES[policy_index], day, punches


def summary(r):
    return (
        r.status,
        r.worked_s,
        r.break_s,
        r.late_s,
        r.early_leave_s,
        r.overtime,
        r.balance_delta_s,
        r.core_missed,
        r.first_in_ts,
        r.last_out_ts,
        r.anomalies,
        [d.text for d in r.explanation],
    )


@settings(max_examples=300, deadline=None)
@given(days_with_punches(), st.randoms(use_true_random=False))
def test_permuting_or_duplicating_punches_changes_nothing(case, rnd):
    policy, day, punches = case
    expected = summary(evaluate_day(policy, day, punches, CAL, LATER))
    shuffled = list(punches)
    rnd.shuffle(shuffled)
    assert summary(evaluate_day(policy, day, shuffled, CAL, LATER)) == expected
    doubled = shuffled + [p for p in punches if rnd.random() < 0.5]
    rnd.shuffle(doubled)
    assert summary(evaluate_day(policy, day, doubled, CAL, LATER)) == expected


@settings(max_examples=300, deadline=None)
@given(days_with_punches())
def test_figures_are_never_negative_and_worked_fits_the_punches(case):
    policy, day, punches = case
    r = evaluate_day(policy, day, punches, CAL, LATER)
    assert r.late_s >= 0 and r.early_leave_s >= 0 and r.break_s >= 0
    assert all(v > 0 for v in r.overtime.values())
    assert 0 <= r.worked_s <= r.gross_s
    inside = sorted(
        p.ts
        for p in punches
        if r.plan.win_start <= p.ts < r.plan.win_end and p.state is not PunchState.VOID
    )
    if "auto_checkout" not in r.anomalies:
        span = inside[-1] - inside[0] if inside else 0
        assert r.worked_s <= span
    if r.first_in_ts is not None:
        assert r.plan.win_start <= r.first_in_ts < r.plan.win_end
    if r.last_out_ts is not None and r.first_in_ts is not None:
        assert r.last_out_ts >= r.first_in_ts
