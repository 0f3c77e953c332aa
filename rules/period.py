"""A period's totals and its time-balance statement (opening, changes, cap, floor, carried)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rules.evaluate import DayResult
from rules.policy import Balance
from rules.vocabulary import DayStatus


@dataclass(frozen=True, slots=True)
class BalanceStatement:
    """How the flexitime account moved over a period."""

    opening_s: int  # carried in from the previous period
    change_s: int  # sum of the days' worked − target
    closing_s: int  # opening + change, before cap and floor
    cap_s: int | None  # most credit carried over
    floor_s: int | None  # largest deficit tolerated
    forfeited_s: int  # credit above the cap, lost
    shortfall_s: int  # deficit beyond the floor, flagged to HR
    carried_s: int  # what the next period opens with


@dataclass(frozen=True, slots=True)
class PeriodResult:
    """Totals of a run of days and the balance statement."""

    start: date | None
    end: date | None
    days: int
    statuses: dict[str, int]  # DayStatus → number of days
    worked_s: int
    target_s: int
    late_days: int
    late_s: int
    early_leave_days: int
    early_leave_s: int
    overtime: dict[str, int]  # OvertimeCategory → seconds
    core_missed_s: int
    provisional_days: int
    anomalies: dict[str, int] = field(default_factory=dict)  # anomaly → number of days
    balance: BalanceStatement | None = None


def evaluate_period(
    days: Sequence[DayResult], *, opening_balance_s: int = 0, balance: Balance | None = None
) -> PeriodResult:
    """Totals over the days and, when a balance applies, its statement.

    The cap and floor come from `balance`, or from the policy of the last day.
    """
    statuses: Counter[str] = Counter()
    anomalies: Counter[str] = Counter()
    overtime: Counter[str] = Counter()
    worked = target = late = late_days = early = early_days = core = prov = change = 0
    for d in days:
        statuses[d.status_code] += 1
        worked += d.worked_s
        target += d.target_s
        if d.late_s:
            late_days += 1
            late += d.late_s
        if d.early_leave_s:
            early_days += 1
            early += d.early_leave_s
        overtime.update(d.overtime)
        core += d.core_missed_s
        prov += d.provisional or d.status is DayStatus.PROVISIONAL
        anomalies.update(set(d.anomalies))
        change += d.balance_delta_s
    rules = balance if balance is not None else (days[-1].policy.balance if days else None)
    statement = None
    if rules is not None and rules.enabled:
        statement = balance_statement(opening_balance_s, change, rules)
    return PeriodResult(
        start=min((d.day for d in days), default=None),
        end=max((d.day for d in days), default=None),
        days=len(days),
        statuses=dict(statuses),
        worked_s=worked,
        target_s=target,
        late_days=late_days,
        late_s=late,
        early_leave_days=early_days,
        early_leave_s=early,
        overtime=dict(overtime),
        core_missed_s=core,
        provisional_days=prov,
        anomalies=dict(anomalies),
        balance=statement,
    )


def balance_statement(opening_s: int, change_s: int, rules: Balance) -> BalanceStatement:
    """Close a period: apply the carry-over cap (excess forfeited) and floor (flagged)."""
    closing = opening_s + change_s
    carried = closing
    forfeited = shortfall = 0
    if rules.carry_cap_s is not None and closing > rules.carry_cap_s:
        forfeited = closing - rules.carry_cap_s
        carried = rules.carry_cap_s
    if rules.carry_floor_s is not None and closing < rules.carry_floor_s:
        shortfall = rules.carry_floor_s - closing  # flagged; the deficit is kept
    return BalanceStatement(
        opening_s=opening_s,
        change_s=change_s,
        closing_s=closing,
        cap_s=rules.carry_cap_s,
        floor_s=rules.carry_floor_s,
        forfeited_s=forfeited,
        shortfall_s=shortfall,
        carried_s=carried,
    )
