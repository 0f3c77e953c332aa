"""What one employee-day means under a policy: `evaluate_day`, pure and fast.

The hot path works on Unix seconds and plain floats; the day's instants come from the
cached `DayPlan`, and the HR-readable explanation is rendered only when asked for
(`DayResult.explanation`) from the figures the evaluation kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, NamedTuple

from rules.calendar import Calendar
from rules.plan import DayKind, DayPlan, day_plan
from rules.policy import OvertimeBasis, PairingMode, Policy, Rounding
from rules.vocabulary import DayStatus, OvertimeCategory, PunchState, SourceKind

if TYPE_CHECKING:
    from rules.explain import Decision

_IN = PunchState.IN
_OUT = PunchState.OUT
_UNKNOWN = PunchState.UNKNOWN
_VOID = PunchState.VOID
IN_STATES = frozenset({PunchState.IN, PunchState.BREAK_IN, PunchState.OVERTIME_IN})
OUT_STATES = frozenset({PunchState.OUT, PunchState.BREAK_OUT, PunchState.OVERTIME_OUT})
# Equal times sort by state so the outcome never depends on the input order.
_RANK = {s: i for i, s in enumerate(PunchState)}


@dataclass(frozen=True, slots=True)
class Punch:
    """A punch as the rules see it: an id, an aware instant, a state, where from, flags."""

    id: int
    at: datetime  # aware; compared as an instant
    state: PunchState
    source: SourceKind = SourceKind.TERMINAL
    flags: int = 0  # PunchFlag bitmask
    voids: int | None = None  # for a VOID record: the id of the punch it cancels
    device: str | None = None
    ts: float = field(init=False, repr=False, compare=False)  # Unix seconds of `at`

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a punch time must be aware")
        object.__setattr__(self, "ts", self.at.timestamp())


def _sort_key(p: Punch) -> tuple[float, int]:
    return (p.ts, _RANK[p.state])


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

    @property
    def first_in(self) -> datetime | None:
        """First check-in (UTC)."""
        return None if self.first_in_ts is None else datetime.fromtimestamp(self.first_in_ts, UTC)

    @property
    def last_out(self) -> datetime | None:
        """Last check-out (UTC); None when the day has no closing check-out."""
        return None if self.last_out_ts is None else datetime.fromtimestamp(self.last_out_ts, UTC)

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
    policy: Policy, day: date, punches: Iterable[Punch], calendar: Calendar, now: datetime
) -> DayResult:
    """Decide `day` from the punches (any order; others outside the day's window are ignored)."""
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
        sel.sort(key=_sort_key)
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
    intervals, open_start = _pair(policy.pairing.mode, sel, anomalies)
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
    deducted = _deduction(policy, gross, qualifying) if policy.breaks.deductions else 0.0
    worked = gross - deducted
    if outside > 0 and policy.flex is not None:
        anomalies.append("outside_band")  # arriving early for a fixed shift is no anomaly

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
        core_missed = _uncovered(plan.core, intervals, open_start, min(now_ts, we))
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
                raw_ot = _after(intervals, plan.end, hi)
            if raw_ot > 0 and raw_ot >= ot.minimum_s:
                v = _round(raw_ot, ot.round_unit_s, ot.rounding)
                if ot.daily_cap_s is not None and v > ot.daily_cap_s:
                    v = ot.daily_cap_s
                if v > 0:
                    overtime[OvertimeCategory.REGULAR] = v
        else:
            raw_ot = worked
            v = _round(worked, ot.round_unit_s, ot.rounding)
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
    if not bal.enabled:
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
    return DayResult(
        day=day,
        policy=policy,
        calendar=calendar,
        plan=plan,
        status=status,
        provisional=not closed,
        first_in_ts=first_in,
        last_out_ts=last_out,
        worked_s=round(worked),
        gross_s=round(gross),
        break_s=round(gaps),
        qualifying_break_s=round(qualifying),
        deducted_s=round(deducted),
        late_s=round(late),
        early_leave_s=round(early),
        overtime=overtime,
        overtime_raw_s=round(raw_ot) if raw_ot > 0 else 0,
        core_missed=core_missed,
        balance_delta_s=round(delta),
        target_s=plan.target_s,
        outside_s=round(outside),
        punches_used=len(sel),
        flags=flagged,
        collapsed=collapsed,
        voided=voided,
        anomalies=tuple(anomalies),
    )


def _pair(
    mode: PairingMode, sel: list[Punch], anomalies: list[str]
) -> tuple[list[tuple[float, float]], float | None]:
    """Worked intervals and the start of an interval left open (None when all closed)."""
    intervals: list[tuple[float, float]] = []
    n = len(sel)
    if n == 0:
        return intervals, None
    if mode is PairingMode.FIRST_LAST:
        if n == 1:
            return intervals, sel[0].ts
        intervals.append((sel[0].ts, sel[-1].ts))
        return intervals, None
    if mode is PairingMode.ALTERNATING:
        for i in range(0, n - 1, 2):
            intervals.append((sel[i].ts, sel[i + 1].ts))
        return intervals, sel[-1].ts if n % 2 else None
    open_start: float | None = None
    for p in sel:
        st = p.state
        if st in IN_STATES or (st is _UNKNOWN and open_start is None):
            if open_start is None:
                open_start = p.ts
            else:
                anomalies.append("double_in")  # the earlier in stands
        elif open_start is not None:
            intervals.append((open_start, p.ts))
            open_start = None
        else:
            anomalies.append("out_without_in")
    return intervals, open_start


def _deduction(policy: Policy, worked: float, qualifying: float) -> float:
    """Break time to deduct so the statutory table is met (see `Breaks`)."""
    rows = policy.breaks.deductions
    if not policy.breaks.cap_at_threshold:
        need = 0
        for after, brk in rows:
            if worked > after:
                need = brk
        return max(0.0, need - qualifying)
    tiers = ((0, 0), *rows)
    for i in range(len(tiers) - 1, 0, -1):
        after, brk = tiers[i]
        d = max(0.0, brk - qualifying)
        if worked - d > after:
            return d
        # Deducting this tier's break lands below its threshold: stop at the threshold,
        # unless even the tier below cannot reach it.
        if worked - max(0.0, tiers[i - 1][1] - qualifying) >= after and worked > after:
            return worked - after
    return 0.0


def _round(value: float, unit: int, mode: Rounding) -> int:
    if unit <= 0:
        return round(value)
    v = round(value)
    if mode is Rounding.DOWN:
        return v // unit * unit
    if mode is Rounding.UP:
        return -(-v // unit) * unit
    return (v + unit // 2) // unit * unit


def _after(intervals: list[tuple[float, float]], start: float, hi: float) -> float:
    total = 0.0
    for a, b in intervals:
        a = max(a, start)
        b = min(b, hi)
        if b > a:
            total += b - a
    return total


def _uncovered(
    core: tuple[tuple[float, float], ...],
    intervals: list[tuple[float, float]],
    open_start: float | None,
    horizon: float,
) -> tuple[tuple[float, float], ...]:
    """Parts of the core spans (up to `horizon`) not covered by presence."""
    present = list(intervals)
    if open_start is not None:
        present.append((open_start, horizon))  # still at work as far as we know
    missed: list[tuple[float, float]] = []
    for a, b in core:
        b = min(b, horizon)
        cur = a
        for pa, pb in present:
            if pb <= cur or pa >= b:
                continue
            if pa > cur:
                missed.append((cur, pa))
            cur = max(cur, pb)
            if cur >= b:
                break
        if cur < b:
            missed.append((cur, b))
    return tuple(missed)
