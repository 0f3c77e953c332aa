"""A site's calendar: its timezone, public holidays and official make-up working days.

Both come from the `holidays` library: for China it lists the statutory days and the
"Day off (substituted from …)" days the State Council moves onto weekdays, and keeps the
weekends that are worked instead (调休补班) in `weekend_workdays`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True, eq=False)
class Calendar:
    """Where an employee works: the local zone and the public holidays of its region.

    Compared by identity: evaluation caches day plans per calendar object, so build one
    per site and reuse it.
    """

    zone: ZoneInfo  # the site's local time
    country: str | None = None  # ISO country for public holidays (None: no public holidays)
    subdivision: str | None = None  # state/region within the country (e.g. "BE" for Berlin)
    _years: dict[int, Any] = field(default_factory=dict, repr=False)

    def public_holiday(self, day: date) -> str | None:
        """The public holiday's name on that date in this region, or None."""
        if self.country is None:
            return None
        name = self._table(day.year).get(day)
        return None if name is None else str(name)

    def makeup_workday(self, day: date) -> tuple[str, int | None] | None:
        """An official working day on a weekend (调休补班): its description and the weekday
        (Mon=0) whose day off it makes up for, when the region's calendar names one."""
        if self.country is None:
            return None
        table = self._table(day.year)
        if day not in getattr(table, "weekend_workdays", ()):
            return None
        stamp = day.strftime("%m/%d/%Y")  # how `holidays` names the day it substitutes
        for off, name in table.items():
            if off.year == day.year and stamp in str(name):
                return f"make-up working day for the day off on {off.isoformat()}", off.weekday()
        return "official working day (make-up for a public holiday)", None

    def _table(self, year: int) -> Any:
        table = self._years.get(year)
        if table is None:
            assert self.country is not None
            table = holidays.country_holidays(
                self.country, subdiv=self.subdivision, years=year, language="en_US"
            )
            self._years[year] = table
        return table

    def epoch(self, day: date, seconds: int) -> float:
        """Unix time of `seconds` after the local midnight that starts `day` (wall clock).

        A wall time in a spring-forward gap reads with the offset in force before the jump,
        as `collector.normalize` does for punches.
        """
        wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
        return wall.replace(tzinfo=self.zone).timestamp()

    def local(self, ts: float) -> datetime:
        """A Unix time as local wall time."""
        return datetime.fromtimestamp(ts, self.zone)


def site_calendar(
    zone: str, country: str | None = None, subdivision: str | None = None
) -> Calendar:
    """A calendar for a site's zone and holiday region; unknown regions raise ValueError."""
    cal = Calendar(ZoneInfo(zone), country or None, subdivision or None)
    if cal.country is not None:
        try:
            holidays.country_holidays(cal.country, subdiv=cal.subdivision, years=2000)
        except NotImplementedError as exc:
            raise ValueError(f"no public holidays known for {country}/{subdivision}") from exc
    return cal
