"""Leave and absence types as data, and a day's leave as the engine receives it.

A type says three things HR decides once: whether its time counts as worked (trips, field
work), whether punches are expected on it, and what it does to the day's target — taken off
(paid or unpaid leave), or left standing so the time is drawn from the balance (调休).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class LeavePart(enum.StrEnum):
    """How much of a day a leave entry covers."""

    FULL = "full"  # the whole day
    AM = "am"  # the morning: the day starts at the afternoon start
    PM = "pm"  # the afternoon: the day ends at the morning end
    HOURS = "hours"  # a span of clock time within the day


class TargetEffect(enum.StrEnum):
    """What a leave does to the day's target."""

    REDUCE = "reduce"  # the leave's time is taken off the target (annual, sick, unpaid)
    KEEP = "keep"  # the target stands: the leave's time is drawn from the time balance (调休)
    CREDIT = "credit"  # the leave's time counts as worked (business trip, field work)


@dataclass(frozen=True, slots=True)
class LeaveType:
    """One kind of leave or absence and how the day engine treats it."""

    code: str  # stored in leave entries and in a day's status (`leave:<code>`)
    name: str  # what HR calls it
    name_zh: str  # its Chinese name
    target: TargetEffect  # taken off the target, drawn from the balance, or credited as worked
    punches_expected: bool  # the employee still punches (field work: 外勤打卡)
    paid: bool  # paid leave (reports and payroll; no effect on the day's figures)
    punch_anywhere: bool  # phone punches outside every fence are accepted on such days

    @property
    def counts_as_worked(self) -> bool:
        """The leave's time is credited as worked time (and the day counts as present)."""
        return self.target is TargetEffect.CREDIT

    @property
    def draws_balance(self) -> bool:
        """The leave's time comes out of the time balance (compensatory time off)."""
        return self.target is TargetEffect.KEEP


def _t(code: str, name: str, zh: str, target: TargetEffect, **kw: bool) -> LeaveType:
    return LeaveType(
        code,
        name,
        zh,
        target,
        punches_expected=kw.get("punches", False),
        paid=kw.get("paid", True),
        punch_anywhere=kw.get("anywhere", False),
    )


LEAVE_TYPES: Mapping[str, LeaveType] = MappingProxyType(
    {
        t.code: t
        for t in (
            _t("annual", "annual leave", "年假", TargetEffect.REDUCE),
            _t("sick", "sick leave", "病假", TargetEffect.REDUCE),
            _t("unpaid", "unpaid leave", "事假", TargetEffect.REDUCE, paid=False),
            _t("compensatory", "compensatory time off", "调休", TargetEffect.KEEP),
            _t("business_trip", "business trip", "出差", TargetEffect.CREDIT, anywhere=True),
            _t(
                "field_work",
                "field work",
                "外勤",
                TargetEffect.CREDIT,
                punches=True,
                anywhere=True,
            ),
            _t("other", "other absence", "其他", TargetEffect.REDUCE),
        )
    }
)


# Leave types reported as trips rather than leave (days away working, not days off).
TRIP_TYPES = ("business_trip",)


def leave_type(code: str) -> LeaveType:
    """The leave type with that code; unknown codes raise ValueError naming the known ones."""
    found = LEAVE_TYPES.get(code)
    if found is None:
        raise ValueError(f"unknown leave type {code!r}; known: {', '.join(LEAVE_TYPES)}")
    return found


@dataclass(frozen=True, slots=True)
class DayLeave:
    """One leave entry as it applies to one date."""

    type: LeaveType  # which leave
    part: LeavePart  # full day, a half, or hours
    start_s: int | None = None  # HOURS: from (seconds after local midnight)
    end_s: int | None = None  # HOURS: to (seconds after local midnight)

    def __post_init__(self) -> None:
        if self.part is LeavePart.HOURS:
            if self.start_s is None or self.end_s is None or self.end_s <= self.start_s:
                raise ValueError("leave by the hour needs a start before its end")
        elif self.start_s is not None or self.end_s is not None:
            raise ValueError("only leave by the hour has clock times")

    @classmethod
    def of(cls, code: str, part: str, start: str = "", end: str = "") -> DayLeave:
        """An entry from its stored text: type code, part, and "HH:MM" times for hours."""
        from rules.schema import clock  # the one parser of HR's clock times

        try:
            kind = LeavePart(part)
        except ValueError:
            raise ValueError(f"unknown leave part {part!r}; known: full, am, pm, hours") from None
        if kind is LeavePart.HOURS:
            return cls(leave_type(code), kind, clock(start), clock(end))
        return cls(leave_type(code), kind)


@dataclass(frozen=True, slots=True)
class LeaveOnDay:
    """What the engine made of a day's leave: recorded on the day's plan for the explanation."""

    entries: tuple[DayLeave, ...]  # the entries as given
    counted: bool  # False on rest days and holidays: nothing to take leave from
    full: DayLeave | None  # the full-day entry, when there is one
    leave_s: int  # target time the leave covers
    credit_s: int  # of which credited as worked (trips, field work)
    drawn_s: int  # of which drawn from the balance (compensatory time off)
    full_target_s: int  # the day's target before the leave
    start_moved: bool  # the start reference moved (lateness measured from the new start)
    end_moved: bool  # the end reference moved (early leave measured from the new end)
