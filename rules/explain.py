"""The explanation of a day: each rule decision with the parameters and times behind it.

Rendered from a `DayResult`'s kept figures only when asked (storing or showing a day),
so evaluation itself never formats text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from rules.calendar import Calendar
from rules.evaluate import DayResult
from rules.plan import DayKind, DayPlan
from rules.policy import DAY_S, NightWindow, OvertimeBasis, PairingMode, PolicyKind
from rules.vocabulary import DayStatus, OvertimeCategory, PunchFlag

# Local clock texts per (day plan, instant): a day's shift times repeat for every employee.
_CLOCK: dict[tuple[DayPlan, float], str] = {}
CLOCK_CACHE_MAX = 200_000


def _clock_text(plan: DayPlan, cal: Calendar, ts: float) -> str:
    """Local wall-clock time of an instant, with the date when it is not the plan's day."""
    if plan.uniform:  # no clock change nearby: wall clock is a fixed shift from midnight
        days, s = divmod(int(ts - plan.midnight), DAY_S)
        text = f"{s // 3600:02d}:{s // 60 % 60:02d}"
        on = plan.day + timedelta(days=days) if days else None
    else:
        local = cal.local(ts)
        text = local.strftime("%H:%M")
        on = local.date() if local.date() != plan.day else None
    if on is not None:
        text = f"{text} ({on.strftime('%a %d')})"
    return text


def _plan_clock(plan: DayPlan, cal: Calendar, ts: float) -> str:
    """`_clock_text` of one of the plan's own instants, kept for everyone on the plan."""
    text = _clock_text(plan, cal, ts)
    if len(_CLOCK) >= CLOCK_CACHE_MAX:
        _CLOCK.clear()
    _CLOCK[(plan, ts)] = text
    return text


_MODE = {m: m.value.replace("_", " ") for m in PairingMode}
_STATUS = {s: s.value.replace("_", " ") for s in DayStatus}


class Decision(NamedTuple):
    """One rule's decision: which rule, what it decided, and the sentence HR reads."""

    rule: str
    outcome: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for attendance_days.explanation."""
        return {"rule": self.rule, "outcome": self.outcome, "text": self.text}


@lru_cache(maxsize=8192)
def hm(seconds: float) -> str:
    """A duration as HR writes it: '12 min', '8 h', '7 h 45 min', '−1 h 5 min'."""
    s = round(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    h, rem = divmod(s, 3600)
    m = rem // 60
    if h and m:
        return f"{sign}{h} h {m} min"
    if h:
        return f"{sign}{h} h"
    if m or not rem:
        return f"{sign}{m} min"
    return f"{sign}{rem} s"


def explain(r: DayResult) -> list[Decision]:
    """The decisions behind a day result, in the order the rules apply."""
    p, plan, pol = r, r.plan, r.policy
    cal = r.calendar

    def t(ts: float) -> str:  # the plan's instants: shared by everyone on the plan
        text = _CLOCK.get((plan, ts))
        return text if text is not None else _plan_clock(plan, cal, ts)

    def c(ts: float) -> str:  # a punch's instant: one employee's, not worth keeping
        return _clock_text(plan, cal, ts)

    out: list[Decision] = []
    add = out.append
    if plan.day_length_s != DAY_S:
        add(Decision("dst", "day_length", f"this day lasts {hm(plan.day_length_s)} (clock change)"))
    if plan.kind is DayKind.HOLIDAY:
        add(
            Decision(
                "calendar",
                "holiday",
                f"holiday: {plan.holiday}; all time worked is holiday overtime",
            )
        )
    elif plan.kind is DayKind.REST:
        add(
            Decision(
                "calendar",
                "rest_day",
                f"rest day ({plan.day.strftime('%A')}) under {pol.name}; "
                "time worked is rest-day overtime",
            )
        )
    elif plan.half:
        add(
            Decision(
                "calendar",
                "half_day",
                f"half day ({plan.holiday}): target {hm(plan.target_s)}, thresholds halved",
            )
        )
    if plan.makeup is not None and plan.kind is DayKind.WORK:
        add(Decision("calendar", "makeup_workday", f"working day: {plan.makeup} (调休补班)"))
    if plan.leave is not None:
        from rules.leave import leave_decisions  # rules.leave builds on this module

        out.extend(leave_decisions(r))
    on_leave = plan.leave is not None and plan.leave.full is not None and plan.leave.counted
    if r.voided:
        add(Decision("pairing", "voided", f"{r.voided} punch(es) cancelled by a void record"))
    if r.collapsed:
        add(
            Decision(
                "pairing",
                "collapsed",
                f"{r.collapsed} repeat punch(es) within {pol.pairing.collapse_s} s dropped",
            )
        )
    add(
        Decision(
            "window",
            "punches",
            f"{p.punches_used} punch(es) between {t(plan.win_start)} and {t(plan.win_end)} "
            f"paired {_MODE[pol.pairing.mode]}",
        )
    )
    if p.flags:
        names = ", ".join(PunchFlag.names_of(p.flags))
        add(Decision("punches", "flagged", f"punches carry flags HR should check: {names}"))
    if "auto_checkout" in p.anomalies:
        add(
            Decision(
                "pairing",
                "auto_checkout",
                f"no check-out: automatic check-out at {t(plan.auto_checkout)}",
            )
        )
    if "missing_checkout" in p.anomalies:
        add(
            Decision(
                "pairing",
                "incomplete",
                "odd number of punches: no check-out; worked counts closed pairs only",
            )
        )
    if p.gross_s or p.first_in_ts is not None:
        span = f"counted between {t(plan.count_lo)} and {t(plan.count_hi)}"
        add(Decision("worked", "gross", f"worked {hm(p.gross_s)} {span}; breaks {hm(p.break_s)}"))
    if p.outside_s:
        add(
            Decision(
                "worked",
                "outside",
                f"{hm(p.outside_s)} punched outside "
                f"{t(plan.count_lo)}–{t(plan.count_hi)} not counted",
            )
        )
    if pol.breaks.deductions and p.gross_s:
        if p.deducted_s:
            add(
                Decision(
                    "breaks",
                    "deducted",
                    f"break deducted {hm(p.deducted_s)}, worked {hm(p.worked_s)}: "
                    f"table {_table(pol.breaks.deductions)}; "
                    f"qualifying breaks {hm(p.qualifying_break_s)} "
                    f"(minimum {hm(pol.breaks.min_break_s)})",
                )
            )
        else:
            add(
                Decision(
                    "breaks",
                    "none",
                    f"no break deduction: qualifying breaks {hm(p.qualifying_break_s)} "
                    f"already meet table {_table(pol.breaks.deductions)}",
                )
            )
    if p.night_s and pol.night is not None:  # a finding when there is some, no noise else
        out.append(_night(p, pol.night))
    if plan.kind is DayKind.WORK and not on_leave:
        label = "shift start" if pol.kind is PolicyKind.FIXED else "latest start"
        if p.first_in_ts is not None:
            if p.late_s:
                add(
                    Decision(
                        "late",
                        "late",
                        f"late {hm(p.late_s)}: first in {c(p.first_in_ts)} > {label} "
                        f"{t(plan.start)}; grace {hm(plan.grace_late_s)}",
                    )
                )
            else:
                add(
                    Decision(
                        "late",
                        "on_time",
                        f"on time: first in {c(p.first_in_ts)} ≤ {label} {t(plan.start)} "
                        f"+ grace {hm(plan.grace_late_s)}",
                    )
                )
        label = "shift end" if pol.kind is PolicyKind.FIXED else "earliest end"
        if p.early_leave_s:
            assert p.last_out_ts is not None
            add(
                Decision(
                    "early_leave",
                    "early",
                    f"left early {hm(p.early_leave_s)}: last out {c(p.last_out_ts)} < {label} "
                    f"{t(plan.end)}; grace {hm(plan.grace_early_s)}",
                )
            )
        elif p.last_out_ts is not None and not p.provisional and not plan.half:
            add(
                Decision(
                    "early_leave",
                    "not_early",
                    f"no early leave: last out {c(p.last_out_ts)} ≥ {label} {t(plan.end)} "
                    f"− grace {hm(plan.grace_early_s)}",
                )
            )
        for a, b in p.core_missed:
            add(
                Decision(
                    "core_hours", "missed", f"absent during core hours {c(a)}–{c(b)} ({hm(b - a)})"
                )
            )
    ot = pol.overtime
    if plan.kind is DayKind.WORK and p.worked_s:
        basis = (
            f"beyond target {hm(plan.target_s)}"
            if ot.basis is OvertimeBasis.BEYOND_TARGET
            else f"after shift end {t(plan.end)}"
        )
        v = p.overtime.get(OvertimeCategory.REGULAR, 0)
        if v:
            extra = []
            if ot.round_unit_s:
                extra.append(f"rounded {ot.rounding.value} to {hm(ot.round_unit_s)}")
            if ot.daily_cap_s is not None and v == ot.daily_cap_s:
                extra.append(f"capped at {hm(ot.daily_cap_s)}")
            add(
                Decision(
                    "overtime",
                    "regular",
                    f"overtime {hm(v)}: {hm(p.overtime_raw_s)} {basis}"
                    + (f"; {', '.join(extra)}" if extra else ""),
                )
            )
        elif p.overtime_raw_s:
            add(
                Decision(
                    "overtime",
                    "none",
                    f"no overtime: {hm(p.overtime_raw_s)} {basis} is below the minimum "
                    f"{hm(ot.minimum_s)} or rounds to 0",
                )
            )
    for cat, v in p.overtime.items():
        if cat != OvertimeCategory.REGULAR:
            add(
                Decision(
                    "overtime",
                    str(cat),
                    f"{cat.replace('_', '-')} overtime {hm(v)}: all {hm(p.worked_s)} worked",
                )
            )
    if "max_daily_exceeded" in p.anomalies and pol.breaks.max_daily_s is not None:
        add(
            Decision(
                "max_daily",
                "exceeded",
                f"worked {hm(p.worked_s)} > maximum {hm(pol.breaks.max_daily_s)} a day",
            )
        )
    if pol.balance.enabled and p.provisional:
        add(Decision("balance", "pending", "balance counted once the day closes"))
    elif pol.balance.enabled and (plan.kind is DayKind.WORK or p.balance_delta_s):
        add(
            Decision(
                "balance",
                "delta",
                f"balance {'+' if p.balance_delta_s >= 0 else ''}{hm(p.balance_delta_s)}: "
                f"worked {hm(p.worked_s)} − target {hm(p.target_s)}",
            )
        )
    add(_status(p))
    return out


def _night(p: DayResult, night: NightWindow) -> Decision:
    """How much of the counted time fell in the night window (payroll's night hours)."""
    span = f"{night.start_s // 3600:02d}:{night.start_s // 60 % 60:02d}–"
    span += f"{night.end_s % DAY_S // 3600:02d}:{night.end_s // 60 % 60:02d}"
    text = f"night work {hm(p.night_s)}: counted time between {span}"
    if p.night_s == p.worked_s and p.deducted_s:
        text += " (at most the day's worked time, break deduction included)"
    return Decision("night", "worked", text)


def _status(p: DayResult) -> Decision:
    plan = p.plan
    s = p.status
    if s is DayStatus.LEAVE:
        return Decision("status", p.status_code, p.status_code.replace("_", " "))
    if s is DayStatus.PROVISIONAL:
        closes = p.calendar.local(plan.win_end)
        return Decision("status", s.value, f"provisional: the punch window closes {_stamp(closes)}")
    if s is DayStatus.ABSENT and not p.punches_used:
        return Decision(
            "status", s.value, f"absent: no punches on a working day (target {hm(p.target_s)})"
        )
    if s is DayStatus.ABSENT:
        return Decision(
            "status",
            s.value,
            f"absent: worked {hm(p.worked_s)} < absence threshold {hm(plan.absent_below_s)}",
        )
    if s is DayStatus.HALF_DAY:
        return Decision(
            "status",
            s.value,
            f"half day: worked {hm(p.worked_s)} < half-day threshold {hm(plan.half_day_below_s)}",
        )
    if s is DayStatus.INCOMPLETE:
        return Decision(
            "status", s.value, f"incomplete: check-out missing; best-effort worked {hm(p.worked_s)}"
        )
    return Decision("status", s.value, _STATUS[s])


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M %Z")


@lru_cache(maxsize=256)
def _table(rows: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{hm(b)} after {hm(a)}" for a, b in rows)
