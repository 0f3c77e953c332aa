"""Pay periods: which dates a monthly, semi-monthly, weekly or bi-weekly pay cycle groups."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta


class CycleKind(enum.StrEnum):
    """How a pay cycle cuts the calendar."""

    MONTHLY = "monthly"  # from start_day of one month to the day before it in the next
    SEMI_MONTHLY = "semi_monthly"  # from start_day and from start_day + 15 of each month
    WEEKLY = "weekly"  # seven days from the anchor date, repeating
    BIWEEKLY = "biweekly"  # fourteen days from the anchor date, repeating


class CycleError(ValueError):
    """A pay cycle that cannot cut the calendar as written."""


@dataclass(frozen=True, slots=True)
class PayCycle:
    """A pay cycle as data; `start_day` for the monthly kinds, `anchor` for the weekly ones."""

    kind: CycleKind
    start_day: int = 1
    anchor: date | None = None

    def __post_init__(self) -> None:
        if self.kind is CycleKind.MONTHLY and not 1 <= self.start_day <= 28:
            raise CycleError("a monthly cycle starts on a day from 1 to 28")
        if self.kind is CycleKind.SEMI_MONTHLY and not 1 <= self.start_day <= 13:
            raise CycleError(
                "a semi-monthly cycle starts on a day from 1 to 13 (and 15 days later)"
            )
        if self.kind in (CycleKind.WEEKLY, CycleKind.BIWEEKLY) and self.anchor is None:
            raise CycleError(
                "a weekly or bi-weekly cycle needs an anchor date (a period's first day)"
            )

    def period_of(self, day: date) -> tuple[date, date]:
        """The first and last date of the period holding `day`."""
        start = self._start_of(day)
        return start, self._start_of_next(start) - timedelta(days=1)

    def next_period(self, start: date) -> tuple[date, date]:
        """The period after the one starting on `start`."""
        return self.period_of(self._start_of_next(start))

    def is_start(self, day: date) -> bool:
        """Whether a period starts on `day`."""
        return self._start_of(day) == day

    def _start_of(self, day: date) -> date:
        if self.kind in (CycleKind.WEEKLY, CycleKind.BIWEEKLY):
            assert self.anchor is not None
            length = 7 if self.kind is CycleKind.WEEKLY else 14
            return self.anchor + timedelta(days=(day - self.anchor).days // length * length)
        starts: tuple[int, ...] = (self.start_day,)
        if self.kind is CycleKind.SEMI_MONTHLY:
            starts = (self.start_day, self.start_day + 15)
        for first in reversed(starts):
            if day.day >= first:
                return day.replace(day=first)
        previous = day.replace(day=1) - timedelta(days=1)
        return previous.replace(day=starts[-1])

    def _start_of_next(self, start: date) -> date:
        if self.kind is CycleKind.WEEKLY:
            return start + timedelta(days=7)
        if self.kind is CycleKind.BIWEEKLY:
            return start + timedelta(days=14)
        # The next start is the first period start after this one: at most a month on.
        probe = start + timedelta(days=16 if self.kind is CycleKind.SEMI_MONTHLY else 32)
        nxt = self._start_of(probe)
        while nxt > start:
            earlier = self._start_of(nxt - timedelta(days=1))
            if earlier <= start:
                return nxt
            nxt = earlier
        raise CycleError("no next period")  # pragma: no cover - a start always has a successor
