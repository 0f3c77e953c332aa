"""Rosters: shift types, patterns, the resolved shift of a day and its evaluation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules import evaluate_day
from rules.roster import Assignment, EmployeeRoster, Rostering, auto_shift
from rules.schema import PolicyError
from rules.shifts import PatternKind, load_shift_type, make_pattern
from rules.vocabulary import DayStatus
from tests.rules.helpers import CAL, LATER, H, M, at, fixed, flex, pairs, punch

E = {"code": "E", "name": "Early", "shift": {"start": "06:00", "end": "14:00", "grace_late_min": 5}}
L = {"code": "L", "name": "Late", "shift": {"start": "14:00", "end": "22:00", "grace_late_min": 5}}
N = {
    "code": "N",
    "name": "Night",
    "shift": {"start": "22:00", "end": "06:00", "grace_late_min": 5, "checkout_after_min": 240},
}
TYPES = {t.code: t for t in (load_shift_type(E), load_shift_type(L), load_shift_type(N))}
CODES = set(TYPES)
D = date(2026, 3, 2)  # a Monday


def roster(pattern: str, anchor: date = D, kind: str = "cycle", **days: str) -> EmployeeRoster:
    p = make_pattern("rota", kind, pattern, anchor, CODES)
    entries = {
        date.fromisoformat(k.removeprefix("d_").replace("_", "-")): v for k, v in days.items()
    }
    return EmployeeRoster(own=(Assignment(p, anchor, None),), days=entries)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            {"code": "X", "rest": True, "shift": {"start": "06:00", "end": "14:00"}},
            "no shift times",
        ),
        ({"code": "X"}, "needs a shift"),
        ({"code": "X", "shift": {"start": "06:00", "end": "06:00"}}, "same time"),
        (
            {"code": "X", "shift": {"start": "06:00", "end": "20:00", "checkout_after_min": 600}},
            "over 24 h",
        ),
        ({"code": "a b", "shift": {"start": "06:00", "end": "14:00"}}, "code"),
        ({"code": "-", "shift": {"start": "06:00", "end": "14:00"}}, "rest code"),
    ],
)
def test_shift_type_documents_are_refused_with_the_reason(document, problem):
    with pytest.raises(PolicyError, match=problem):
        load_shift_type(document)


def test_a_shift_type_is_the_fixed_shift_document():
    n = TYPES["N"]
    assert n.shift is not None
    assert (n.shift.start_s, n.shift.end_s) == (22 * H, 30 * H)  # overnight
    assert n.target_s == 8 * H and n.breaks is None
    assert load_shift_type({"code": "休", "rest": True}).rest


@pytest.mark.parametrize(
    ("kind", "codes", "anchor", "problem"),
    [
        ("cycle", "E L Z", D, "unknown shift codes \\['Z'\\]"),
        ("cycle", "E L", None, "anchor"),
        ("weekly", "E E E E E - ", None, "7 codes"),
        ("auto", "E -", None, "working shifts only"),
        ("daily", "E", None, "kind must be"),
        ("cycle", "  ", D, "at least one code"),
    ],
)
def test_pattern_problems(kind, codes, anchor, problem):
    with pytest.raises(PolicyError, match=problem):
        make_pattern("p", kind, codes, anchor, CODES)


@pytest.mark.parametrize(
    ("pattern", "kind", "offset", "expected"),
    [
        ("E E L L N N - -", "cycle", 0, "E"),
        ("E E L L N N - -", "cycle", 4, "N"),
        ("E E L L N N - -", "cycle", 7, "-"),
        ("E E L L N N - -", "cycle", 8, "E"),
        ("E E L L N N - -", "cycle", -1, "-"),  # before the anchor the cycle runs backwards
        ("E E E E - - - -", "cycle", 11, "E"),  # 4-on-4-off
        ("E E E E - - - -", "cycle", 12, "-"),
        ("E E E E E - 休", "weekly", 5, "-"),  # Saturday
        ("E E E E E - 休", "weekly", 6, "休"),
        ("E E E E E - 休", "weekly", 7, "E"),
    ],
)
def test_patterns_repeat_from_their_anchor(pattern, kind, offset, expected):
    p = make_pattern("p", kind, pattern, D, CODES)
    assert p.code_on(D + timedelta(days=offset)) == expected


def test_day_entries_override_the_employees_pattern_which_overrides_the_departments():
    dept = make_pattern("dept", PatternKind.WEEKLY, "L L L L L - -", None, CODES)
    own = make_pattern("own", PatternKind.CYCLE, "E", D, CODES)
    r = EmployeeRoster(
        own=(Assignment(own, D + timedelta(days=2), D + timedelta(days=3)),),
        department=(Assignment(dept, D - timedelta(days=30), None),),
        days={D + timedelta(days=3): "N"},
    )
    planned = [r.planned(D + timedelta(days=i)) for i in range(5)]
    assert [(p[0], p[1].value) for p in planned if p] == [
        ("L", "department_pattern"),
        ("L", "department_pattern"),
        ("E", "employee_pattern"),
        ("N", "day_entry"),  # a swap on a day the own pattern covers
        ("L", "department_pattern"),  # the own pattern ended the day before
    ]
    assert EmployeeRoster().planned(D) is None


def evaluate(policy, r: EmployeeRoster, day: date, punches):
    rostering = Rostering(TYPES)
    punches = sorted(punches, key=lambda p: p.ts)
    rd = rostering.day(r, (policy, policy, policy), CAL, day, punches)
    assert rd is not None
    return rd, evaluate_day(rd.policy, day, punches, CAL, LATER, plan=rd.plan)


def test_a_rostered_night_shift_is_not_late_under_an_office_policy():
    office = fixed()  # 09:00–17:00
    punches = [punch(D, "21:58", "in"), punch(D, "06:02", "out", plus_days=1)]
    plain = evaluate_day(office, D, punches, CAL, LATER)
    assert plain.status is not DayStatus.PRESENT  # the office day does not see the night
    rd, r = evaluate(office, roster("N"), D, punches)
    assert r.status is DayStatus.PRESENT and r.late_s == 0 and r.early_leave_s == 0
    assert r.worked_s == 8 * H + 2 * M  # counted from the shift start
    assert (
        rd.decision.text == "rostered N (Night, 22:00–06:00): "
        "the employee's pattern 'rota' from 2026-03-02, day 1 of 1"
    )
    texts = [d.text for d in r.explanation]
    assert "on time: first in 21:58 ≤ shift start 22:00 + grace 5 min" in texts


def test_a_night_shifts_punches_after_midnight_belong_to_the_day_it_starts():
    r_ = roster("N -")  # night, then a rest day
    punches = [punch(D, "22:00", "in"), punch(D, "06:00", "out", plus_days=1)]
    _, night = evaluate(flex(), r_, D, punches)
    _, rest = evaluate(flex(), r_, D + timedelta(days=1), punches)
    # The policy's break table applies to the rostered shift (30 min after 6 h).
    assert night.worked_s == 7 * H + 30 * M and night.status is DayStatus.PRESENT
    assert rest.status is DayStatus.REST_DAY and rest.punches_used == 0  # not counted twice
    assert rest.worked_s == 0 and not rest.overtime


def test_windows_of_a_night_then_an_early_shift_do_not_overlap():
    r_ = roster("N E")
    punches = [
        punch(D, "22:00", "in"),
        punch(D, "03:59", "out", plus_days=1),
        punch(D, "05:50", "in", plus_days=1),
        punch(D, "14:00", "out", plus_days=1),
    ]
    rd_n, night = evaluate(fixed(), r_, D, punches)
    rd_e, early = evaluate(fixed(), r_, D + timedelta(days=1), punches)
    # The night's window is cut where the early shift's check-in window begins (04:00).
    assert rd_n.plan.win_end == rd_e.plan.win_start
    assert rd_e.plan.win_start == at(D, "04:00", plus_days=1).timestamp()
    assert night.punches_used == 2 and early.punches_used == 2  # none counted twice
    assert night.early_leave_s == 2 * H + M and early.status is DayStatus.PRESENT


def test_a_rest_day_on_the_roster_is_a_rest_day_and_work_on_it_is_overtime():
    r_ = roster("-")
    _, r = evaluate(fixed(), r_, D, pairs(D, "09:00-13:00"))  # a Monday
    assert r.status is DayStatus.REST_DAY
    assert r.overtime == {"rest_day": 4 * H}
    assert r.target_s == 0


def test_a_rostered_saturday_is_a_working_day_under_a_mon_fri_policy():
    sat = D + timedelta(days=5)
    _, r = evaluate(fixed(), roster("E"), sat, pairs(sat, "06:10-14:00"))
    assert r.status is DayStatus.LATE and r.late_s == 10 * M and r.target_s == 8 * H


def test_an_unknown_code_falls_back_to_the_policy_and_says_so():
    r_ = EmployeeRoster(days={D: "Q"})
    rd, r = evaluate(fixed(), r_, D, pairs(D, "09:00-17:00"))
    assert rd.shift is None and r.status is DayStatus.PRESENT
    assert rd.decision.outcome == "unknown_code"


@pytest.mark.parametrize(
    ("first", "state", "chosen", "why"),
    [
        (
            "05:50",
            "in",
            "E",
            "first punch 05:50 is 10 min from its start; L 8 h 10 min; N 16 h 10 min",
        ),
        ("13:20", "in", "L", "first punch 13:20 is 40 min from its start"),
        ("21:31", "unknown", "N", "first punch 21:31 is 29 min from its start"),
        ("10:00", "in", "E", "first punch 10:00 is 4 h from its start"),  # a tie: the earlier start
    ],
)
def test_auto_shift_takes_the_start_nearest_the_first_punch(first, state, chosen, why):
    ps = [punch(D, "06:00", "out"), punch(D, first, state)]  # last night's check-out is no start
    st, decision = auto_shift(list(TYPES.values()), CAL, D, ps, "three")
    assert st is not None and st.code == chosen
    assert why in decision.text


def test_auto_shift_without_punches_chooses_nothing():
    st, decision = auto_shift(list(TYPES.values()), CAL, D, [])
    assert st is None and decision.outcome == "auto_none"


def test_an_auto_roster_evaluates_the_chosen_shift():
    r_ = roster("E L N", kind="auto", anchor=D)
    rd, r = evaluate(fixed(), r_, D, pairs(D, "14:03-22:00"))
    assert rd.shift is not None and rd.shift.code == "L"
    assert r.status is DayStatus.PRESENT and r.late_s == 0  # 3 min inside the grace
    assert rd.decision.outcome == "auto"
