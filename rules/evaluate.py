"""What one employee-day means under a policy: `evaluate_day`, pure and fast.

The hot path works on Unix seconds and plain floats; the day's instants come from the
cached `DayPlan`, and the HR-readable explanation is rendered only when asked for
(`DayResult.explanation`) from the figures the evaluation kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NamedTuple

from rules.calendar import Calendar
from rules.plan import DayKind, DayPlan, day_plan
from rules.policy import OvertimeBasis, Policy
from rules.punch import Punch, sort_key
from rules.vocabulary import DayStatus, OvertimeCategory, PunchState
from rules.worktime import break_deduction, pair, round_to, time_after, uncovered

if TYPE_CHECKING:
    from rules.explain import Decision

__all__ = ["DayResult", "Punch", "evaluate_day"]

_VOID = PunchState.VOID
_new = tuple.__new__


class DayResult(NamedTuple):
    """Everything decided about one employee-day, with the figures that drove it.

    Immutable; a named tuple rather than a frozen dataclass because a frozen dataclass
    spends more time in ``__init__`` than the whole evaluation of a typical day.
    """

    day: date
    policy: Policy
    calendar: Calendar
    plan: DayPlan
    status: DayStatus
    provisional: bool  # the punch window is still open at `now`
    first_in_ts: float | None
    last_out_ts: float | None
    worked_s: int  # net of break deductions, within the counted span
    gross_s: int  # counted time before the automatic break deduction
    break_s: int  # gaps between worked intervals
    qualifying_break_s: int  # the part of break_s in breaks of at least the minimum length
    deducted_s: int  # automatic break deduction
    late_s: int
    early_leave_s: int
    overtime: dict[str, int]  # OvertimeCategory → seconds
    overtime_raw_s: int  # overtime before minimum, rounding and cap
    core_missed: tuple[tuple[float, float], ...]  # core-hour spans nobody was present
    balance_delta_s: int
    target_s: int
    outside_s: int  # punched time outside the counted span (not credited)
    punches_used: int
    flags: int  # PunchFlag bits set on any punch used
    collapsed: int  # repeats dropped
    voided: int  # punches cancelled by void records
    anomalies: tuple[str, ...]
    night_s: int  # counted time inside the policy's night window (at most worked_s)

    @property
    def first_in(self) -> datetime | None:
        """First check-in (UTC)."""
        return None if self.first_in_ts is None else datetime.fromtimestamp(self.first_in_ts, UTC)

    @property
    def last_out(self) -> datetime | None:
        """Last check-out (UTC); None when the day has no closing check-out."""
        return None if self.last_out_ts is None else datetime.fromtimestamp(self.last_out_ts, UTC)

    @property
    def status_code(self) -> str:
        """The status as stored and reported: `leave:<type>` for a day on full-day leave."""
        leave = self.plan.leave
        if self.status is DayStatus.LEAVE and leave is not None and leave.full is not None:
            return f"leave:{leave.full.type.code}"
        return self.status.value

    @property
    def core_missed_s(self) -> int:
        """Seconds of core hours without presence."""
        return round(sum(b - a for a, b in self.core_missed))

    @property
    def closes_at(self) -> datetime:
        """When the day's punch window closes (UTC)."""
        return datetime.fromtimestamp(self.plan.win_end, UTC)

    @property
    def explanation(self) -> list[Decision]:
        """The rule decisions behind this result, readable by HR."""
        from rules.explain import explain

        return explain(self)


def evaluate_day(
    policy: Policy,
    day: date,
    punches: Iterable[Punch],
    calendar: Calendar,
    now: datetime,
    plan: DayPlan | None = None,
) -> DayResult:
    """Decide `day` from the punches (any order; others outside the day's window are ignored).

    `plan` is what was planned for the day when it differs from the policy's: a rostered day
    (`rules.roster`), leave moving the reference times (`rules.leave`); by default the
    policy's cached plan.
    """
    if plan is None:
        plan = day_plan(policy, calendar, day)
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    now_ts = now.timestamp()
    ws = plan.win_start
    we = plan.win_end
    voids: set[int] | None = None
    sel: list[Punch] = []
    for p in punches:
        if p.state is _VOID:
            if p.voids is not None:
                if voids is None:
                    voids = set()
                voids.add(p.voids)
        elif ws <= p.ts < we:
            sel.append(p)
    voided = 0
    if voids:
        remaining = [p for p in sel if p.id not in voids]
        if len(remaining) < len(sel):  # count records, not copies of a record
            voided = len({p.id for p in sel if p.id in voids})
        sel = remaining
    anomalies: list[str] = []
    collapsed = 0
    flagged = sel[0].flags if sel else 0
    if len(sel) > 1:
        sel.sort(key=sort_key)
        window = policy.pairing.collapse_s
        kept = sel[0]
        flagged = kept.flags
        last = kept.ts
        out = [kept]
        dropped: set[int] | None = None
        for p in sel[1:]:
            if p.ts - last <= window:
                # The same record twice (same id) is no repeat punch: a copy of the last
                # kept punch sorts right after it, a copy of a dropped one is in `dropped`.
                if p.id != kept.id:
                    if dropped is None:
                        dropped = set()
                    if p.id not in dropped:
                        dropped.add(p.id)
                        collapsed += 1
                continue
            kept = p
            flagged |= p.flags
            out.append(p)
            last = p.ts
        sel = out
    if flagged:
        anomalies.append("flagged_punches")  # HR should look twice (fence, clock skew, DST…)
    intervals, open_start = pair(policy.pairing.mode, sel, anomalies)
    closed = now_ts >= we
    if open_start is not None:
        if closed and policy.pairing.auto_checkout and plan.auto_checkout > open_start:
            intervals.append((open_start, plan.auto_checkout))
            open_start = None
            anomalies.append("auto_checkout")
        elif closed:
            anomalies.append("missing_checkout")
    incomplete = open_start is not None and closed
    if intervals:
        first_in: float | None = intervals[0][0]
    else:
        first_in = open_start
    last_out = intervals[-1][1] if intervals and open_start is None else None

    lo = plan.count_lo
    hi = plan.count_hi
    min_break = policy.breaks.min_break_s
    gross = outside = gaps = qualifying = 0.0
    prev_end: float | None = None
    for a, b in intervals:
        ca = a if a > lo else lo
        cb = b if b < hi else hi
        span = cb - ca if cb > ca else 0.0
        gross += span
        outside += (b - a) - span
        if prev_end is not None:
            g = a - prev_end
            gaps += g
            if g >= min_break:
                qualifying += g
        prev_end = b
    deducted = break_deduction(policy, gross, qualifying) if policy.breaks.deductions else 0.0
    worked = gross - deducted
    if outside > 0 and policy.flex is not None:
        anomalies.append("outside_band")  # arriving early for a fixed shift is no anomaly

    night = 0.0
    if plan.night and gross:  # only policies with a night window pay for this
        for a, b in intervals:
            ca = a if a > lo else lo
            cb = b if b < hi else hi
            for na, nb in plan.night:
                x = ca if ca > na else na
                y = cb if cb < nb else nb
                if y > x:
                    night += y - x
        if night > worked:  # the break deduction has no place in time: it may fall at night
            night = worked

    kind = plan.kind
    late = early = 0.0
    if kind is DayKind.WORK:
        if first_in is not None:
            d = first_in - plan.start
            if d > plan.grace_late_s:
                late = d
        if last_out is not None and closed and not plan.half:
            d = plan.end - last_out
            if d > plan.grace_early_s:
                early = d
    core_missed: tuple[tuple[float, float], ...] = ()
    if plan.core and sel:
        core_missed = uncovered(plan.core, intervals, open_start, min(now_ts, we))
        if core_missed:
            anomalies.append("core_hours_missed")

    ot = policy.overtime
    overtime: dict[str, int] = {}
    raw_ot = 0.0
    if worked > 0:
        if kind is DayKind.WORK:
            if ot.basis is OvertimeBasis.BEYOND_TARGET:
                raw_ot = worked - plan.target_s
            else:
                raw_ot = time_after(intervals, plan.end, hi)
            if raw_ot > 0 and raw_ot >= ot.minimum_s:
                v = round_to(raw_ot, ot.round_unit_s, ot.rounding)
                if ot.daily_cap_s is not None and v > ot.daily_cap_s:
                    v = ot.daily_cap_s
                if v > 0:
                    overtime[OvertimeCategory.REGULAR] = v
        else:
            raw_ot = worked
            v = round_to(worked, ot.round_unit_s, ot.rounding)
            if v > 0:
                cat = (
                    OvertimeCategory.HOLIDAY
                    if kind is DayKind.HOLIDAY
                    else OvertimeCategory.REST_DAY
                )
                overtime[cat] = v
    max_daily = policy.breaks.max_daily_s
    if max_daily is not None and worked > max_daily:
        anomalies.append("max_daily_exceeded")

    bal = policy.balance
    if not bal.enabled or not closed:  # an open day moves the account once it closes
        delta = 0.0
    elif kind is DayKind.WORK:
        delta = worked - plan.target_s
    else:
        delta = worked if bal.rest_day_work_counts else 0.0

    if not closed:
        status = DayStatus.PROVISIONAL
    elif kind is DayKind.HOLIDAY:
        status = DayStatus.HOLIDAY
    elif kind is DayKind.REST:
        status = DayStatus.REST_DAY
    elif not sel:
        status = DayStatus.ABSENT
    elif incomplete:
        status = DayStatus.INCOMPLETE
    elif worked < plan.absent_below_s:
        status = DayStatus.ABSENT
    elif worked < plan.half_day_below_s:
        status = DayStatus.HALF_DAY
    elif late:
        status = DayStatus.LATE
    else:
        status = DayStatus.PRESENT
    # Positional, in field order: a keyword call to a named tuple costs a fifth of the day.
    return _new(
        DayResult,
        (
            day,
            policy,
            calendar,
            plan,
            status,
            not closed,  # provisional
            first_in,  # first_in_ts
            last_out,  # last_out_ts
            round(worked),  # worked_s
            round(gross),  # gross_s
            round(gaps),  # break_s
            round(qualifying),  # qualifying_break_s
            round(deducted),  # deducted_s
            round(late),  # late_s
            round(early),  # early_leave_s
            overtime,
            round(raw_ot) if raw_ot > 0 else 0,  # overtime_raw_s
            core_missed,
            round(delta),  # balance_delta_s
            plan.target_s,  # target_s
            round(outside),  # outside_s
            len(sel),  # punches_used
            flagged,  # flags
            collapsed,
            voided,
            tuple(anomalies),  # anomalies
            round(night),  # night_s
        ),
    )
