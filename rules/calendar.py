"""A site's calendar: its timezone and public holidays (through the `holidays` library)."""

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
        table = self._years.get(day.year)
        if table is None:
            table = holidays.country_holidays(
                self.country, subdiv=self.subdivision, years=day.year, language="en_US"
            )
            self._years[day.year] = table
        name = table.get(day)
        return None if name is None else str(name)

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
