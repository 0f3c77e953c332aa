"""The rostered shift of an employee-day, and the day plan the evaluation uses for it.

The planned code is, in this order: the day's explicit entry (a swap, an extra shift, a
day off), the employee's own pattern in force, their department's pattern in force. An
auto pattern plans no code: the day's shift is the allowed one whose start is nearest the
first punch. The employee's policy keeps everything else (pairing, overtime, balance,
holidays); the shift type replaces its shift, target and — when it has one — break table.

Windows of neighbouring days never overlap: a working day's window ends where the next
working day's begins (as a policy's own days do), and a rest day's window starts only
after the previous working shift's window, so a night shift's punches after midnight
belong to the day the shift starts.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from rules.calendar import Calendar
from rules.explain import Decision, hm
from rules.plan import DayPlan, day_plan
from rules.policy import DAY_S, Policy, PolicyKind
from rules.punch import OUT_STATES, Punch
from rules.shifts import REST, REST_CODES, Pattern, PatternKind, ShiftType
from rules.vocabulary import PunchState

ROSTER_CACHE_MAX = 100_000  # rostered plans (or derived policies) kept before clearing
_ONE = timedelta(days=1)
_MISS = object()
_NOT_FIRST = OUT_STATES | {PunchState.VOID}  # a check-out cannot be the shift's first punch


class Source(enum.StrEnum):
    """Where the day's shift came from."""

    DAY_ENTRY = "day_entry"  # an explicit entry for the date
    EMPLOYEE = "employee_pattern"  # the employee's own pattern
    DEPARTMENT = "department_pattern"  # the department's pattern
    AUTO = "auto"  # chosen by the first punch among an allowed set


@dataclass(frozen=True, slots=True)
class Assignment:
    """A pattern in force from a date (to an optional last date)."""

    pattern: Pattern
    effective_from: date
    effective_to: date | None  # the last day in force (None: open-ended)


@dataclass(frozen=True, slots=True)
class EmployeeRoster:
    """One employee's roster data: own and department assignments and day entries."""

    own: tuple[Assignment, ...] = ()  # sorted by effective_from
    department: tuple[Assignment, ...] = ()  # sorted by effective_from
    days: Mapping[date, str] = field(default_factory=dict)  # date → code

    def planned(self, day: date) -> tuple[str | None, Source, Assignment | None] | None:
        """The planned code, its source and the assignment behind it (None: not rostered)."""
        code = self.days.get(day)
        if code is not None:
            return code, Source.DAY_ENTRY, None
        a = _in_force(self.own, day)
        source = Source.EMPLOYEE
        if a is None:
            a = _in_force(self.department, day)
            source = Source.DEPARTMENT
            if a is None:
                return None
        if a.pattern.kind is PatternKind.AUTO:
            return None, Source.AUTO, a
        return a.pattern.code_on(day), source, a


def _in_force(assignments: tuple[Assignment, ...], day: date) -> Assignment | None:
    """The assignment starting last on or before `day`, unless it ended before it."""
    found = None
    for a in assignments:  # a handful at most: a scan beats bisect's overhead
        if a.effective_from > day:
            break
        found = a
    if found is not None and found.effective_to is not None and day > found.effective_to:
        return None
    return found


class RosteredDay:
    """What the evaluation of one rostered day needs: the policy, its plan, the decision."""

    __slots__ = ("_day", "_own", "_rostering", "plan", "policy", "shift")

    def __init__(self, rostering: Rostering, own: _Resolved, plan: DayPlan, day: date) -> None:
        self.policy = own.policy  # the employee's policy with the shift type's shift and target
        self.plan = plan  # the day's instants with the neighbouring days' windows cut away
        self.shift = own.shift  # None: the day fell back to the policy's own shift
        self._rostering, self._own, self._day = rostering, own, day

    @property
    def decision(self) -> Decision:
        """Why this shift (HR reads it first); rendered when asked, as explanations are."""
        made = self._own.decision
        return made if made is not None else self._rostering.decision(self._own, self._day)


class Rostering:
    """The shift types, and the derived policies and plans worked out from them (bounded)."""

    def __init__(self, types: Mapping[str, ShiftType]) -> None:
        self.types = dict(types)
        for code in REST_CODES:
            self.types.setdefault(code, dataclasses.replace(REST, code=code))
        # Decision texts per (shift type, source, assignment, cycle step), with what they name.
        self._decisions: dict[tuple[Any, ...], tuple[Decision, Any]] = {}
        self._policies: dict[tuple[int, str], tuple[Policy, Policy]] = {}
        self._plans: dict[tuple[Any, ...], tuple[DayPlan, tuple[Policy | None, ...]]] = {}
        self._resolutions: dict[tuple[Any, ...], tuple[_Resolved, Policy, Any]] = {}
        self._days: dict[tuple[Any, ...], tuple[RosteredDay, tuple[Any, ...]]] = {}
        self._memo: dict[tuple[date, int], _Resolved | None] = {}
        self._memo_roster: EmployeeRoster | None = None
        self._memo_punches: Sequence[Punch] | None = None

    def shift_type(self, code: str) -> ShiftType | None:
        """The shift type a code names (rest codes always name a rest type)."""
        return self.types.get(code)

    def policy(self, base: Policy, st: ShiftType) -> Policy:
        """`base` with the shift type's shift, target and breaks; every weekday per the roster."""
        key = (id(base), st.code)
        hit = self._policies.get(key)
        if hit is not None and hit[0] is base:
            return hit[1]
        if len(self._policies) >= ROSTER_CACHE_MAX:
            self._policies.clear()
        cal = base.calendar
        if st.shift is None:
            derived = dataclasses.replace(
                base,
                name=f"{base.name} · {st.code}",
                targets=(0,) * 7,
                calendar=dataclasses.replace(cal, rest_weekdays=frozenset(range(7))),
                plans={},
            )
        else:
            derived = dataclasses.replace(
                base,
                name=f"{base.name} · {st.code}",
                kind=PolicyKind.FIXED,
                shift=st.shift,
                flex=None,
                targets=(st.target_s,) * 7,
                breaks=st.breaks if st.breaks is not None else base.breaks,
                calendar=dataclasses.replace(cal, rest_weekdays=frozenset()),
                plans={},
            )
        self._policies[key] = (base, derived)
        return derived

    def day(
        self,
        roster: EmployeeRoster,
        bases: tuple[Policy | None, Policy, Policy | None],
        cal: Calendar,
        day: date,
        punches: Sequence[Punch] = (),
    ) -> RosteredDay | None:
        """The rostered day (None when nothing is rostered: the policy's own day applies).

        `bases` are the employee's policies on the day before, the day and the day after;
        `punches` (sorted by time) decide an auto shift.
        """
        if roster is not self._memo_roster or punches is not self._memo_punches:
            # Days of one employee come in a row: each date is resolved once, not thrice.
            self._memo.clear()
            self._memo_roster, self._memo_punches = roster, punches
        own = self._resolved(roster, bases[1], cal, day, punches)
        if own is None:
            return None
        prev = (
            None if bases[0] is None else self._resolved(roster, bases[0], cal, day - _ONE, punches)
        )
        nxt = (
            None if bases[2] is None else self._resolved(roster, bases[2], cal, day + _ONE, punches)
        )
        p0 = bases[0] if prev is None else prev.policy
        p2 = bases[2] if nxt is None else nxt.policy
        # Everyone on the same step of the same pattern shares one rostered day.
        key = (id(cal), day, id(p0), id(own), id(p2))
        hit = self._days.get(key)
        if hit is not None:
            return hit[0]
        plan_key = (id(cal), day, id(p0), id(own.policy), id(p2))
        planned = self._plans.get(plan_key)
        if planned is None:
            if len(self._plans) >= ROSTER_CACHE_MAX:
                self._plans.clear()
            before = None if p0 is None else (p0, prev is None or prev.working)
            after = None if p2 is None else (p2, nxt is None or nxt.working)
            plan = _cut(day_plan(own.policy, cal, day), own.policy, own.working, before, after, cal)
            planned = self._plans[plan_key] = (plan, (p0, own.policy, p2))  # keeps ids alive
        made = RosteredDay(self, own, planned[0], day)
        if own.decision is None:  # a planned shift (auto and unknown codes are per employee)
            if len(self._days) >= ROSTER_CACHE_MAX:
                self._days.clear()
            self._days[key] = (made, (cal, p0, own, p2))  # keeps the keyed ids alive
        return made

    def _resolved(
        self,
        roster: EmployeeRoster,
        base: Policy,
        cal: Calendar,
        day: date,
        punches: Sequence[Punch],
    ) -> _Resolved | None:
        key = (day, id(base))
        memo = self._memo
        found = memo.get(key, _MISS)
        if found is not _MISS:
            return found  # type: ignore[return-value]
        if len(memo) >= 8:
            memo.clear()
        made = memo[key] = self._resolve(roster, base, cal, day, punches)
        return made

    def _resolve(
        self,
        roster: EmployeeRoster,
        base: Policy,
        cal: Calendar,
        day: date,
        punches: Sequence[Punch],
    ) -> _Resolved | None:
        """The day's policy and shift type (the decision is made when the day is evaluated)."""
        planned = roster.planned(day)
        if planned is None:
            return None
        code, source, assignment = planned
        if source is Source.AUTO:
            assert assignment is not None
            types = [t for c in assignment.pattern.codes if (t := self.types.get(c)) is not None]
            st, decision = auto_shift(types, cal, day, punches, assignment.pattern.name)
            if st is None:
                return _Resolved(base, None, True, decision, planned)
            return _Resolved(self.policy(base, st), st, True, decision, planned)
        assert code is not None
        st = self.types.get(code)
        if st is None:
            text = f"rostered code {code!r} names no shift type; the policy's own shift applies"
            return _Resolved(base, None, True, Decision("roster", "unknown_code", text), planned)
        key = (id(base), code, source, id(assignment))
        hit = self._resolutions.get(key)
        if hit is None or hit[1] is not base:
            if len(self._resolutions) >= ROSTER_CACHE_MAX:
                self._resolutions.clear()
            made = _Resolved(self.policy(base, st), st, st.shift is not None, None, planned)
            hit = self._resolutions[key] = (made, base, assignment)  # keeps the keyed ids alive
        return hit[0]

    def decision(self, own: _Resolved, day: date) -> Decision:
        """Why the day has its planned shift; the same words for everyone on the same step."""
        _, source, assignment = own.planned
        st = own.shift
        assert st is not None
        pos = None if assignment is None else assignment.pattern.position(day)
        key = (id(st), source, id(assignment), pos)
        hit = self._decisions.get(key)
        if hit is None:
            if len(self._decisions) >= ROSTER_CACHE_MAX:
                self._decisions.clear()
            made = _planned_decision(st, source, assignment, pos)
            hit = self._decisions[key] = (made, (st, assignment))  # keeps the keyed ids alive
        return hit[0]


class _Resolved(NamedTuple):
    """One date's resolution: the policy to use, the shift type, and whether it is worked."""

    policy: Policy
    shift: ShiftType | None
    working: bool  # a working shift (or the policy's own day), not a rostered rest
    decision: Decision | None  # made at once for auto and unknown codes, else on demand
    planned: tuple[str | None, Source, Assignment | None]


def _cut(
    plan: DayPlan,
    policy: Policy,
    working: bool,
    prev: tuple[Policy, bool] | None,
    nxt: tuple[Policy, bool] | None,
    cal: Calendar,
) -> DayPlan:
    """The plan with its window cut against the neighbouring days' windows."""
    lo_s, hi_s = policy.window_bounds
    start = cal.epoch(plan.day, lo_s)
    end = cal.epoch(plan.day, hi_s)
    if nxt is not None and (nxt[1] or not working):
        end = min(end, cal.epoch(plan.day + _ONE, nxt[0].window_bounds[0]))
    if prev is not None and not working and prev[1]:
        # A rest day after a working day starts where that day's window ends.
        start = max(start, cal.epoch(plan.day - _ONE, prev[0].window_bounds[1]))
    end = max(end, start)
    if start == plan.win_start and end == plan.win_end:
        return plan
    return dataclasses.replace(
        plan,
        win_start=start,
        win_end=end,
        count_lo=min(max(plan.count_lo, start), end),
        count_hi=min(max(plan.count_hi, start), end),
        auto_checkout=min(plan.auto_checkout, end),
        uniform=cal.local(start).utcoffset() == cal.local(end).utcoffset()
        and plan.day_length_s == DAY_S,
    )


def _clock(seconds: int) -> str:
    s = seconds % DAY_S
    return f"{s // 3600:02d}:{s // 60 % 60:02d}"


def describe(st: ShiftType) -> str:
    """A shift type as HR reads it: 'N (Night, 22:00–06:00)' or '- (rest)'."""
    if st.shift is None:
        return f"{st.code} (rest)"
    times = f"{_clock(st.shift.start_s)}–{_clock(st.shift.end_s)}"
    return f"{st.code} ({st.name}, {times})" if st.name != st.code else f"{st.code} ({times})"


def _planned_decision(
    st: ShiftType, source: Source, assignment: Assignment | None, pos: int | None
) -> Decision:
    if source is Source.DAY_ENTRY:
        where = "a roster entry for this day"
    else:
        assert assignment is not None
        p = assignment.pattern
        whose = "the employee's" if source is Source.EMPLOYEE else "the department's"
        step = f", day {pos} of {len(p.codes)}" if pos is not None else ""
        where = f"{whose} pattern {p.name!r} from {assignment.effective_from}{step}"
    return Decision("roster", "rest" if st.rest else "shift", f"rostered {describe(st)}: {where}")


def first_punch(cal: Calendar, day: date, punches: Sequence[Punch]) -> Punch | None:
    """The day's first punch that can open a shift (not a check-out), in local date `day`."""
    lo = cal.epoch(day, 0)
    hi = cal.epoch(day + _ONE, 0)
    i = bisect.bisect_left(punches, lo, key=lambda p: p.ts)
    for p in punches[i:]:
        if p.ts >= hi:
            break
        if p.state not in _NOT_FIRST:
            return p
    return None


def auto_shift(
    types: Sequence[ShiftType],
    cal: Calendar,
    day: date,
    punches: Sequence[Punch],
    pattern: str = "auto",
) -> tuple[ShiftType | None, Decision]:
    """Among `types`, the shift whose start is nearest the day's first punch, and why.

    The first punch is the first one on the local date that is not a check-out (last
    night's check-out at 06:00 does not choose the early shift). Ties go to the earlier
    start. No punch, no choice: the policy's own shift applies.
    """
    working = [t for t in types if t.shift is not None]
    if not working:
        return None, Decision("roster", "auto_none", f"auto shift ({pattern}): no shift allowed")
    first = first_punch(cal, day, punches)
    if first is None:
        text = f"auto shift ({pattern}): no punch to choose by; the policy's own shift applies"
        return None, Decision("roster", "auto_none", text)
    scored = sorted(
        ((abs(first.ts - cal.epoch(day, t.shift.start_s)), t.shift.start_s, i, t))  # type: ignore[union-attr]
        for i, t in enumerate(working)
    )
    best = scored[0][3]
    local = cal.local(first.ts).strftime("%H:%M")
    others = "; ".join(f"{t.code} {hm(d)}" for d, _, _, t in scored[1:])
    text = (
        f"auto shift {describe(best)} ({pattern}): first punch {local} is {hm(scored[0][0])} "
        f"from its start" + (f"; {others} from the others" if others else "")
    )
    return best, Decision("roster", "auto", text)
