"""What every report shares: the Report shape, day-status groups, scope and time helpers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy.sql.elements import KeyedColumnElement

from collector.errors import InvalidInput
from collector.normalize import NormalizeError, zone
from collector.store.models import Employee
from rules.vocabulary import DayStatus

# A day worked: the employee was there, whatever the verdict on punctuality.
WORKED = (DayStatus.PRESENT, DayStatus.LATE, DayStatus.HALF_DAY, DayStatus.INCOMPLETE)
NOT_EXPECTED = (DayStatus.HOLIDAY, DayStatus.REST_DAY)
MAX_PERIOD_DAYS = 366


@dataclass(slots=True)
class Report:
    """A report's column names and its rows (tuples in column order), possibly lazy."""

    name: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    def dicts(self) -> Iterator[dict[str, Any]]:
        """The rows as column → value mappings."""
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=True))


def check_period(start: date, end: date) -> None:
    """Refuse reversed or over-long periods before they reach the database."""
    if end < start:
        raise InvalidInput("'to' is before 'from'", field="to")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput(f"a period is at most {MAX_PERIOD_DAYS} days", field="to")


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), the portable conditional count."""
    return func.sum(case((condition, 1), else_=0))


def ratio(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """numerator / denominator as a float, 0 when the denominator is 0 (sortable everywhere)."""
    return func.coalesce(numerator * 1.0 / func.nullif(denominator, 0), 0.0)


def active_on(day_from: date, day_to: date) -> ColumnElement[bool]:
    """Employees employed (and not deleted before) some day of the period."""
    return and_(
        or_(Employee.active_from.is_(None), Employee.active_from <= day_to),
        or_(Employee.active_to.is_(None), Employee.active_to >= day_from),
        Employee.deleted_at.is_(None),
    )


def local(value: datetime | None, tz_name: str | None, default: str) -> datetime | None:
    """A stored UTC time in the site's zone (the default zone when the site has none)."""
    if value is None:
        return None
    try:
        tz: ZoneInfo = zone(tz_name or default)
    except NormalizeError:
        tz = zone(default)
    return value.astimezone(tz)


def minutes(seconds: int | float | None) -> float:
    """Seconds as minutes rounded to 0.1."""
    return round(float(seconds or 0) / 60.0, 1)


def hours(seconds: int | float | None) -> float:
    """Seconds as hours rounded to 0.01 (PostgreSQL sums bigints as numeric: Decimal)."""
    return round(float(seconds or 0) / 3600.0, 2)


def sort_key(
    name: str, allowed: dict[str, KeyedColumnElement[Any] | ColumnElement[Any]]
) -> ColumnElement[Any]:
    """The whitelisted sort expression; a leading '-' sorts descending."""
    descending = name.startswith("-")
    key = name.lstrip("-")
    if key not in allowed:
        raise InvalidInput(f"cannot sort by {key!r}; use one of {', '.join(allowed)}", field="sort")
    column = allowed[key]
    return column.desc() if descending else column.asc()


def utc(value: datetime | str | None) -> datetime | None:
    """A time from a core aggregate as aware UTC (SQLite hands MIN/MAX back as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
