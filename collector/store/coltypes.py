"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and hands them back aware in UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; convert aware ones to naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text from a core query
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def db_time(value: datetime, dialect: str) -> Any:
    """An aware datetime as naive UTC the way `dialect`'s DB-API and SQLAlchemy store it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    naive = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
    if dialect == "sqlite":
        return sqlite_time(naive)
    return naive


def sqlite_time(naive_utc: datetime) -> str:
    """A naive UTC datetime as the same text SQLAlchemy's SQLite DateTime writes."""
    return naive_utc.isoformat(" ", "microseconds")  # positional: keywords cost half again


def db_date(value: date, dialect: str) -> Any:
    """A date as the DB-API of `dialect` wants it."""
    return value.isoformat() if dialect == "sqlite" else value
