"""A day's plan: the policy's clock times turned into Unix times for one date and zone.

Worked out once per (policy, calendar, date) and cached on the policy, so evaluating many
employees on the same day does the timezone arithmetic once. All instants are Unix seconds
computed through the zone, so a 23- or 25-hour DST day is measured as it was lived.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rules.calendar import Calendar
from rules.policy import DAY_S, NightWindow, Policy

if TYPE_CHECKING:
    from rules.leavetypes import LeaveOnDay

PLAN_CACHE_MAX = 100_000  # plans kept per policy before the cache is cleared


class DayKind(enum.StrEnum):
    """What the calendar says about a date under a policy."""

    WORK = "work"
    REST = "rest"
    HOLIDAY = "holiday"


@dataclass(frozen=True, slots=True, eq=False)
class DayPlan:
    """One date under one policy: its instants, target and kind (compared by identity)."""

    day: date
    kind: DayKind
    holiday: str | None  # name of the holiday (or the half-day's occasion)
    half: bool  # a half day: half the target and thresholds, no early-leave check
    target_s: int  # seconds expected on this day
    day_length_s: int  # 82,800 / 86,400 / 90,000 on DST days
    win_start: float  # punches from here…
    win_end: float  # …to here belong to this day; the day closes at win_end
    start: float  # fixed: shift start; flexitime: latest start
    end: float  # fixed: shift end; flexitime: earliest end
    grace_late_s: int
    grace_early_s: int
    count_lo: float  # worked time counts from here…
    count_hi: float  # …to here
    core: tuple[tuple[float, float], ...]  # core-hour spans (flexitime)
    auto_checkout: float  # where a missing check-out is put when auto check-out is on
    absent_below_s: int
    half_day_below_s: int
    midnight: float  # Unix time of the local midnight starting the day
    uniform: bool  # one UTC offset across the window: local clock = Unix time + offset
    makeup: str | None = None  # a rest weekday worked by decree or company rule (调休补班)
    leave: LeaveOnDay | None = None  # the leave that shaped this plan (rules.leave)
    # The night windows of the day before, the day and the day after (a window may reach
    # either); empty when the policy counts no night work.
    night: tuple[tuple[float, float], ...] = ()


def day_plan(policy: Policy, calendar: Calendar, day: date) -> DayPlan:
    """The cached plan of `day` under `policy` in `calendar`."""
    key = (calendar, day)
    plan: DayPlan | None = policy.plans.get(key)
    if plan is None:
        if len(policy.plans) >= PLAN_CACHE_MAX:
            policy.plans.clear()
        plan = policy.plans[key] = _make_plan(policy, calendar, day)
    return plan


def _make_plan(policy: Policy, cal: Calendar, day: date) -> DayPlan:
    weekday = day.weekday()
    rules = policy.calendar
    holiday = dict(rules.company_holidays).get(day)
    if holiday is None and rules.public_holidays:
        holiday = cal.public_holiday(day)
    half_name = dict(rules.half_days).get(day)
    makeup = None
    if holiday is not None:
        kind = DayKind.HOLIDAY
    elif weekday in rules.rest_weekdays:
        kind = DayKind.REST
        found = _makeup(policy, cal, day)
        if found is not None:
            # Worked like the weekday it makes up for (its target and core hours).
            kind, (makeup, weekday) = DayKind.WORK, found
    else:
        kind = DayKind.WORK
    half = kind is DayKind.WORK and half_name is not None
    target = policy.targets[weekday] if kind is DayKind.WORK else 0
    if half:
        target //= 2
    th = policy.thresholds
    midnight = cal.epoch(day, 0)
    day_length = round(cal.epoch(day + timedelta(days=1), 0) - midnight)
    lo_s, hi_s = policy.window_bounds
    win_start = cal.epoch(day, lo_s)
    # The earlier window is cut where the next day's begins (never overlaps).
    win_end = min(cal.epoch(day, hi_s), cal.epoch(day + timedelta(days=1), lo_s))
    if policy.shift is not None:
        s = policy.shift
        start, end = cal.epoch(day, s.start_s), cal.epoch(day, s.end_s)
        count_lo = win_start if s.count_early_arrival else start
        count_hi = win_end
        core: tuple[tuple[float, float], ...] = ()
        grace_late, grace_early = s.grace_late_s, s.grace_early_s
        auto_default = s.end_s
    else:
        f = policy.flex
        assert f is not None
        start, end = cal.epoch(day, f.latest_start_s), cal.epoch(day, f.earliest_end_s)
        if f.count_outside_band:
            count_lo, count_hi = win_start, win_end
        else:
            count_lo = cal.epoch(day, f.earliest_start_s)
            count_hi = cal.epoch(day, f.latest_end_s)
        core = tuple((cal.epoch(day, a), cal.epoch(day, b)) for a, b in f.core[weekday])
        if kind is not DayKind.WORK or half:
            core = ()
        grace_late, grace_early = f.grace_late_s, f.grace_early_s
        auto_default = f.latest_end_s
    auto_s = policy.pairing.auto_checkout_s
    if auto_s is None:
        auto_s = auto_default
    elif auto_s < lo_s:
        auto_s += DAY_S  # an auto check-out clock time before the window is the next morning
    return DayPlan(
        day=day,
        kind=kind,
        holiday=holiday if holiday is not None else half_name,
        half=half,
        target_s=target,
        day_length_s=day_length,
        win_start=win_start,
        win_end=win_end,
        start=start,
        end=end,
        grace_late_s=grace_late,
        grace_early_s=grace_early,
        count_lo=count_lo,
        count_hi=count_hi,
        core=core,
        auto_checkout=min(cal.epoch(day, auto_s), win_end),
        absent_below_s=th.absent_below_s // 2 if half else th.absent_below_s,
        half_day_below_s=th.half_day_below_s // 2 if half else th.half_day_below_s,
        midnight=midnight,
        uniform=cal.local(win_start).utcoffset() == cal.local(win_end).utcoffset()
        and day_length == DAY_S,
        makeup=makeup,
        night=() if policy.night is None else _nights(policy.night, cal, day),
    )


def _nights(night: NightWindow, cal: Calendar, day: date) -> tuple[tuple[float, float], ...]:
    """Unix spans of the night windows starting the day before, on the day and the day after:
    through the zone, so a night across a clock change lasts the hours it was lived."""
    out = []
    for offset in (-1, 0, 1):
        on = day + timedelta(days=offset)
        out.append((cal.epoch(on, night.start_s), cal.epoch(on, night.end_s)))
    return tuple(out)


def _makeup(policy: Policy, cal: Calendar, day: date) -> tuple[str, int] | None:
    """A rest weekday that is worked: the company's own entry, or the region's make-up day;
    with the weekday it is worked as (the one it makes up for, else the first working one)."""
    rules = policy.calendar
    name = dict(rules.company_workdays).get(day)
    like: int | None = None
    if name is None and rules.public_holidays:
        found = cal.makeup_workday(day)
        if found is not None:
            name, like = found
    if name is None:
        return None
    if like is None or like in rules.rest_weekdays:
        like = next((i for i in range(7) if i not in rules.rest_weekdays), 0)
    return name, like
