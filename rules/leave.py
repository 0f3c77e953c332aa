"""Leave on a day: the plan it leaves to be worked, and the figures it changes.

`evaluate_with_leave` is the day engine's entry for a day that may hold leave: it shapes the
day's plan (a morning leave moves the reference start to the afternoon start, an afternoon
leave the end to the morning end, leave by the hour moves whichever end it covers; the target
and the thresholds shrink by the leave's share), evaluates the punches against that plan, and
then settles the leave's time by its type: taken off the target, credited as worked, or drawn
from the time balance. A full day of leave is `leave:<type>`; punches on it are kept and shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from rules.calendar import Calendar
from rules.evaluate import DayResult, evaluate_day
from rules.explain import Decision, hm
from rules.leavetypes import DayLeave, LeaveOnDay, LeavePart, TargetEffect
from rules.plan import PLAN_CACHE_MAX, DayKind, DayPlan, day_plan
from rules.policy import Policy
from rules.punch import Punch
from rules.vocabulary import DayStatus

__all__ = ["day_share", "evaluate_with_leave", "leave_decisions", "leave_plan"]


def evaluate_with_leave(
    policy: Policy,
    day: date,
    punches: Iterable[Punch],
    calendar: Calendar,
    now: datetime,
    leaves: Sequence[DayLeave] = (),
    plan: DayPlan | None = None,
) -> DayResult:
    """Decide `day` as `evaluate_day` does, with the day's leave entries taken into account;
    `plan` is the day's plan when it is not the policy's own (a rostered day)."""
    if not leaves:
        return evaluate_day(policy, day, punches, calendar, now, plan)
    planned = leave_plan(policy, calendar, day, leaves, base=plan)
    return settle(evaluate_day(policy, day, punches, calendar, now, planned))


def leave_plan(
    policy: Policy,
    cal: Calendar,
    day: date,
    leaves: Sequence[DayLeave],
    *,
    base: DayPlan | None = None,
) -> DayPlan:
    """The day's plan (`base`, else the policy's) with the leave applied.

    Cached beside the policy's day plans: the same leave on the same day is the same plan
    for everyone who takes it.
    """
    if not leaves:
        return base or day_plan(policy, cal, day)
    entries = tuple(leaves)
    key = (cal, day, entries, base)
    plan: DayPlan | None = policy.plans.get(key)
    if plan is None:
        if len(policy.plans) >= PLAN_CACHE_MAX:
            policy.plans.clear()
        plan = policy.plans[key] = _leave_plan(policy, cal, day, entries, base)
    return plan


def _leave_plan(
    policy: Policy,
    cal: Calendar,
    day: date,
    entries: tuple[DayLeave, ...],
    planned: DayPlan | None = None,
) -> DayPlan:
    base = planned or day_plan(policy, cal, day)
    full_target = base.target_s
    if base.kind is not DayKind.WORK:  # nothing to take leave from: recorded, not counted
        return replace(base, leave=LeaveOnDay(entries, False, None, 0, 0, 0, 0, False, False))
    full = next((x for x in entries if x.part is LeavePart.FULL), None)
    if full is None and sum(_share(x, base, cal) for x in entries) >= full_target > 0:
        full = entries[0]  # a morning and an afternoon leave make a whole day
    if full is not None:
        effect = full.type.target
        lod = LeaveOnDay(
            entries,
            True,
            full,
            full_target,
            full_target if effect is TargetEffect.CREDIT else 0,
            full_target if effect is TargetEffect.KEEP else 0,
            full_target,
            False,
            False,
        )
        # Taken off the target: nothing is expected. Credited or drawn: the target stands,
        # so punched time beyond it is still overtime and the balance sees the day.
        target = 0 if effect is TargetEffect.REDUCE else full_target
        return replace(base, target_s=target, core=(), leave=lod)
    return _partial(policy, cal, day, base, entries)


def day_share(policy: Policy, cal: Calendar, day: date, entry: DayLeave) -> float:
    """How much of a day's quota an entry takes: 1 a working day, ½ a half, hours pro rata;
    nothing on rest days and holidays."""
    base = day_plan(policy, cal, day)
    if base.kind is not DayKind.WORK or base.target_s <= 0:
        return 0.0
    if entry.part is LeavePart.FULL:
        return 1.0
    return _share(entry, base, cal) / base.target_s


def _split(policy: Policy, cal: Calendar, day: date, base: DayPlan) -> tuple[float, float]:
    """Where a morning leave's day starts again and an afternoon leave's day ends."""
    rules = policy.half_day_leave
    middle = (base.start + base.end) / 2
    am_end = middle if rules.am_end_s is None else cal.epoch(day, rules.am_end_s)
    pm_start = middle if rules.pm_start_s is None else cal.epoch(day, rules.pm_start_s)
    return am_end, pm_start


def _share(x: DayLeave, base: DayPlan, cal: Calendar) -> int:
    """Target time one partial entry covers: half the target, or its hours (at most all)."""
    t = base.target_s
    if x.part is LeavePart.AM:
        return t // 2
    if x.part is LeavePart.PM:
        return t - t // 2
    if x.part is LeavePart.HOURS:
        assert x.start_s is not None and x.end_s is not None
        span = cal.epoch(base.day, x.end_s) - cal.epoch(base.day, x.start_s)
        return min(round(span), t)
    return t


def _partial(
    policy: Policy, cal: Calendar, day: date, base: DayPlan, entries: tuple[DayLeave, ...]
) -> DayPlan:
    am_end, pm_start = _split(policy, cal, day, base)
    fixed = policy.shift is not None
    start, end = base.start, base.end
    count_lo, count_hi = base.count_lo, base.count_hi
    away: list[tuple[float, float]] = []
    leave_s = credit = drawn = 0
    for x in entries:
        share = _share(x, base, cal)
        if x.part is LeavePart.AM:
            away.append((base.win_start, pm_start))
            start = max(start, pm_start)
            if fixed:  # the morning is leave: time punched in it is not counted
                count_lo = max(count_lo, pm_start)
        elif x.part is LeavePart.PM:
            away.append((am_end, base.win_end))
            end = min(end, am_end)
            if fixed:
                count_hi = min(count_hi, am_end)
        else:
            assert x.start_s is not None and x.end_s is not None
            a, b = cal.epoch(day, x.start_s), cal.epoch(day, x.end_s)
            away.append((a, b))
            if a <= start < b:
                start = b
            if a < end <= b:
                end = a
        leave_s += share
        if x.type.target is TargetEffect.CREDIT:
            credit += share
        elif x.type.target is TargetEffect.KEEP:
            drawn += share
    full_target = base.target_s
    remaining = full_target - leave_s
    core = _subtract(base.core, away)
    lod = LeaveOnDay(
        entries,
        True,
        None,
        leave_s,
        credit,
        drawn,
        full_target,
        start != base.start,
        end != base.end,
    )
    return replace(
        base,
        target_s=remaining,
        start=start,
        end=max(end, start),
        count_lo=count_lo,
        count_hi=max(count_hi, count_lo),
        core=core,
        auto_checkout=min(base.auto_checkout, max(end, start)),
        absent_below_s=base.absent_below_s * remaining // full_target if full_target else 0,
        half_day_below_s=base.half_day_below_s * remaining // full_target if full_target else 0,
        leave=lod,
    )


def _subtract(
    spans: tuple[tuple[float, float], ...], away: list[tuple[float, float]]
) -> tuple[tuple[float, float], ...]:
    """Core-hour spans without the parts spent on leave."""
    out = list(spans)
    for a, b in away:
        cut: list[tuple[float, float]] = []
        for s, e in out:
            if e <= a or s >= b:
                cut.append((s, e))
                continue
            if s < a:
                cut.append((s, a))
            if e > b:
                cut.append((b, e))
        out = cut
    return tuple(out)


def settle(r: DayResult) -> DayResult:
    """Settle the leave's time in an evaluated day: status, credit and the balance draw."""
    lod = r.plan.leave
    if lod is None or not lod.counted:
        return r
    bal = r.policy.balance
    settles = bal.enabled and not r.provisional
    if lod.full is not None:
        kind = lod.full.type
        anomalies = r.anomalies
        if r.punches_used and not kind.punches_expected:
            anomalies = (*anomalies, "punched_on_leave")  # shown and flagged, never dropped
        worked, delta = r.worked_s, r.balance_delta_s
        if kind.counts_as_worked:
            worked = max(worked, lod.full_target_s)
            delta = worked - lod.full_target_s if settles else 0
        return _changed(
            r,
            status=DayStatus.LEAVE,
            late_s=0,
            early_leave_s=0,
            core_missed=(),
            worked_s=worked,
            balance_delta_s=delta,
            anomalies=anomalies,
        )
    delta = r.balance_delta_s - (lod.drawn_s if settles else 0)
    return _changed(
        r,
        worked_s=r.worked_s + lod.credit_s,
        target_s=r.target_s + lod.credit_s + lod.drawn_s,
        balance_delta_s=delta,
    )


_FIELD = {name: i for i, name in enumerate(DayResult._fields)}


def _changed(r: DayResult, **changes: object) -> DayResult:
    """`r._replace(**changes)` at a tenth of its cost (it rebuilds 27 fields by name)."""
    values: list[Any] = list(r)
    for name, value in changes.items():
        values[_FIELD[name]] = value
    return DayResult._make(values)


def _what(x: DayLeave) -> str:
    name = f"{x.type.name} ({x.type.name_zh})"
    if x.part is LeavePart.HOURS:
        assert x.start_s is not None and x.end_s is not None
        span = f"{x.start_s // 3600:02d}:{x.start_s // 60 % 60:02d}"
        span += f"–{x.end_s // 3600:02d}:{x.end_s // 60 % 60:02d}"
        return f"{name} {span}"
    part = {LeavePart.FULL: "full day", LeavePart.AM: "morning", LeavePart.PM: "afternoon"}
    return f"{name}, {part[x.part]}"


def leave_decisions(r: DayResult) -> list[Decision]:
    """The explanation of a day's leave: what was taken and what it did to the day."""
    lod = r.plan.leave
    if lod is None:
        return []
    what = "; ".join(_what(x) for x in lod.entries)
    code = lod.entries[0].type.code
    if not lod.counted:
        return [Decision("leave", "not_counted", f"{what}: not counted, not a working day")]
    out: list[Decision] = []
    if lod.full is not None:
        kind = lod.full.type
        if kind.counts_as_worked:
            effect = f"counts as present and worked, at least the target {hm(lod.full_target_s)}"
        elif kind.draws_balance:
            effect = f"target {hm(lod.full_target_s)} drawn from the time balance"
        else:
            effect = f"target {hm(lod.full_target_s)} taken off: nothing expected"
        out.append(Decision("leave", kind.code, f"{what}: {effect}"))
        if "punched_on_leave" in r.anomalies:
            out.append(
                Decision(
                    "leave",
                    "punched",
                    f"{r.punches_used} punch(es) on a day of leave: shown, "
                    f"worked {hm(r.worked_s)}; HR should check",
                )
            )
        return out
    parts = []
    taken = lod.leave_s - lod.credit_s - lod.drawn_s
    if taken:
        parts.append(
            f"target reduced by {hm(taken)} to {hm(r.target_s - lod.credit_s - lod.drawn_s)}"
        )
    if lod.credit_s:
        parts.append(f"{hm(lod.credit_s)} credited as worked")
    if lod.drawn_s:
        parts.append(f"{hm(lod.drawn_s)} drawn from the time balance")
    if lod.start_moved:
        parts.append("lateness measured from the new start")
    if lod.end_moved:
        parts.append("early leave measured from the new end")
    out.append(Decision("leave", code, f"{what}: {'; '.join(parts)}"))
    return out
