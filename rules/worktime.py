"""Worked-time arithmetic: pairing punches, statutory break deduction, rounding, coverage."""

from __future__ import annotations

from rules.policy import PairingMode, Policy, Rounding
from rules.punch import IN_STATES, Punch
from rules.vocabulary import PunchState

_UNKNOWN = PunchState.UNKNOWN


def pair(
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


def break_deduction(policy: Policy, worked: float, qualifying: float) -> float:
    """Break time to deduct so the statutory table is met (see `Breaks`)."""
    rows = policy.breaks.deductions
    if not policy.breaks.cap_at_threshold:
        need = 0
        for after, brk in rows:
            if worked > after:
                need = brk
        return max(0.0, need - qualifying)
    for after, brk, below in policy.breaks.ladder:
        if worked <= after:
            continue  # this row does not apply, nor does capping at its threshold
        d = brk - qualifying if brk > qualifying else 0.0
        if worked - d > after:
            return d
        # Deducting this row's break lands below its threshold: stop at the threshold,
        # unless even the row below cannot reach it.
        if worked - (below - qualifying if below > qualifying else 0.0) >= after:
            return worked - after
    return 0.0


def round_to(value: float, unit: int, mode: Rounding) -> int:
    """Round seconds to the unit in the given direction (no unit: to the second)."""
    if unit <= 0:
        return round(value)
    v = round(value)
    if mode is Rounding.DOWN:
        return v // unit * unit
    if mode is Rounding.UP:
        return -(-v // unit) * unit
    return (v + unit // 2) // unit * unit


def time_after(intervals: list[tuple[float, float]], start: float, hi: float) -> float:
    """Time inside the intervals between `start` and `hi`."""
    total = 0.0
    for a, b in intervals:
        a = max(a, start)
        b = min(b, hi)
        if b > a:
            total += b - a
    return total


def uncovered(
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
