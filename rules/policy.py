"""Attendance policies as frozen data: what HR configures, in seconds and weekdays.

Clock times are seconds after local midnight of the day the shift belongs to; a value of
86,400 or more lies on the next day (an overnight shift ends at e.g. 06:00 + 24 h). Every
parameter carries a one-line comment saying what it means to HR. Documents become these
dataclasses through `rules.schema.load_policy`, which rejects impossible combinations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.requests import NO_RULES, RequestRules

DAY_S = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyKind(enum.StrEnum):
    """The two ways a working day is framed."""

    FIXED = "fixed"  # one shift with a start and an end
    FLEXITIME = "flexitime"  # a flex band with core hours and a daily target


class PairingMode(enum.StrEnum):
    """How punches become worked intervals."""

    FIRST_LAST = "first_last"  # first punch to last punch is one interval
    ALTERNATING = "alternating"  # in, out, in, out… whatever the device said
    BY_STATE = "by_state"  # the state the person chose (in/out/break); unknown alternates


class OvertimeBasis(enum.StrEnum):
    """What counts as overtime on a working day."""

    BEYOND_TARGET = "beyond_target"  # everything worked beyond the day's target
    AFTER_SHIFT_END = "after_shift_end"  # only time worked after the shift's end


class Rounding(enum.StrEnum):
    """Direction overtime is rounded to its unit."""

    DOWN = "down"
    UP = "up"
    NEAREST = "nearest"


class BalancePeriod(enum.StrEnum):
    """The period after which the time balance is capped and carried over."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class FixedShift:
    """A shift with set start and end times."""

    start_s: int  # the shift starts (seconds after midnight)
    end_s: int  # the shift ends; above 86,400 when it ends the next morning
    grace_late_s: int  # arriving up to this long after the start is not late
    grace_early_s: int  # leaving up to this long before the end is not an early leave
    checkin_before_s: int  # a punch this long before the start still belongs to the shift
    checkout_after_s: int  # a punch this long after the end still belongs to the shift
    count_early_arrival: bool  # time before the start counts as worked


@dataclass(frozen=True, slots=True)
class Flexitime:
    """A flex band, core hours per weekday and grace."""

    earliest_start_s: int  # work before this does not count (unless counted outside band)
    latest_start_s: int  # arriving after this is late
    earliest_end_s: int  # leaving before this is an early leave
    latest_end_s: int  # work after this does not count (unless counted outside band)
    core: tuple[tuple[tuple[int, int], ...], ...]  # per weekday (Mon=0): must-be-present spans
    grace_late_s: int  # arriving up to this long after the latest start is not late
    grace_early_s: int  # leaving up to this long before the earliest end is not early
    day_boundary_s: int  # the attendance day runs from this local time to the same next day
    count_outside_band: bool  # time outside the flex band counts as worked


@dataclass(frozen=True, slots=True)
class Breaks:
    """Punched breaks and the statutory deduction table."""

    deductions: tuple[tuple[int, int], ...]  # (worked more than, break required) ascending
    min_break_s: int  # a punched break shorter than this does not count toward the requirement
    cap_at_threshold: bool  # a deduction never takes worked time below its table threshold
    max_daily_s: int | None  # worked time above this is flagged (e.g. 10 h in Germany)
    # Derived once, not data: the table's rows from the top, each with the break of the row
    # below, as the capped deduction walks them (`rules.worktime.break_deduction`).
    ladder: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = self.deductions
        below = (0, *(brk for _, brk in rows))[: len(rows)]
        ladder = tuple((after, brk, prev) for (after, brk), prev in zip(rows, below, strict=True))
        object.__setattr__(self, "ladder", ladder[::-1])


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Worked time below which a day is absent or half."""

    absent_below_s: int  # less worked than this = absent (0 disables)
    half_day_below_s: int  # less worked than this = half day (0 disables)


@dataclass(frozen=True, slots=True)
class Overtime:
    """How overtime is counted, rounded and capped."""

    basis: OvertimeBasis  # beyond the target, or only after the shift's end
    minimum_s: int  # less overtime than this on a working day counts as none
    round_unit_s: int  # overtime is rounded to this unit (0 = no rounding)
    rounding: Rounding  # which way to round
    daily_cap_s: int | None  # at most this much regular overtime per day


@dataclass(frozen=True, slots=True)
class Balance:
    """The running flexitime account."""

    enabled: bool  # each working day adds worked − target to the account
    period: BalancePeriod  # caps and floors apply at the end of each such period
    carry_cap_s: int | None  # at most this much credit is carried over; the rest is forfeited
    carry_floor_s: int | None  # a deficit beyond this is flagged as a shortfall
    rest_day_work_counts: bool  # time worked on rest days and holidays is credited too


@dataclass(frozen=True, slots=True)
class Pairing:
    """How punches pair into worked intervals."""

    mode: PairingMode  # first/last, alternating, or by state
    collapse_s: int  # punches this close to the previous one are repeats and dropped
    auto_checkout: bool  # a missing last check-out is added at the auto check-out time
    auto_checkout_s: int | None  # when that is (default: the shift's end / the band's end)


@dataclass(frozen=True, slots=True)
class CalendarRules:
    """Which days are working days under this policy."""

    rest_weekdays: frozenset[int]  # weekdays (Mon=0) that are rest days
    public_holidays: bool  # the site's public holidays are days off
    company_holidays: tuple[tuple[date, str], ...]  # extra days off with their names
    half_days: tuple[tuple[date, str], ...]  # days with half the target (e.g. 24 Dec)
    # the company's own extra working days on rest weekdays, with their names
    company_workdays: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HalfDayLeave:
    """Where a day splits for half-day leave (None: halfway between start and end)."""

    am_end_s: int | None = None  # after an afternoon leave the day ends here (early leave from it)
    pm_start_s: int | None = None  # after a morning leave the day starts here (lateness from it)


@dataclass(frozen=True, slots=True)
class NightWindow:
    """The clock hours whose worked time is night work (paid a premium in most countries)."""

    start_s: int  # night begins (seconds after midnight), e.g. 22:00
    end_s: int  # night ends; above 86,400 when it ends the next morning (06:00 + 24 h)


@dataclass(frozen=True, slots=True)
class Policy:
    """A complete attendance policy; build it with `rules.schema.load_policy`."""

    name: str  # what HR calls it
    kind: PolicyKind  # fixed shift or flexitime
    shift: FixedShift | None  # set for fixed-shift policies
    flex: Flexitime | None  # set for flexitime policies
    targets: tuple[int, ...]  # daily target per weekday (Mon=0), seconds
    breaks: Breaks  # statutory break deductions and the daily maximum
    thresholds: Thresholds  # how little work makes a half day or an absence
    overtime: Overtime  # what counts as overtime and how it is rounded and capped
    balance: Balance  # the flexitime account and its carry-over limits
    pairing: Pairing  # how punches pair into worked time
    calendar: CalendarRules  # rest days and holidays
    half_day_leave: HalfDayLeave = HalfDayLeave()  # where half-day leave splits the day
    requests: RequestRules = NO_RULES  # limits on employee requests (rules.requests)
    night: NightWindow | None = None  # worked time in these hours is counted as night work
    # Day plans already worked out for (calendar, day); filled by evaluation, not data.
    plans: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)

    @property
    def window_bounds(self) -> tuple[int, int]:
        """The punch window of a day in seconds after its local midnight (may leave the day)."""
        if self.shift is not None:
            s = self.shift
            return s.start_s - s.checkin_before_s, s.end_s + s.checkout_after_s
        assert self.flex is not None
        return self.flex.day_boundary_s, self.flex.day_boundary_s + DAY_S

    @property
    def reaches_next_day(self) -> bool:
        """A punch on the next local date may belong to this day (night shifts)."""
        return self.window_bounds[1] > DAY_S

    @property
    def reaches_previous_day(self) -> bool:
        """A punch on the previous local date may belong to this day."""
        return self.window_bounds[0] < 0

    @property
    def punches_breaks(self) -> bool:
        """Breaks are punched: a break table applies and punches pair by the state chosen."""
        return self.pairing.mode is PairingMode.BY_STATE and bool(self.breaks.deductions)
