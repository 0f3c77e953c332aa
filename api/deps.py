"""Dependency aliases shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Depends, Request
from pydantic import (
    AwareDatetime,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from sqlalchemy.orm import Session

from collector.runtime import Store


async def get_store(request: Request) -> Store:
    """The store the app was started with (async: no I/O, so no hop to the thread pool)."""
    store: Store = request.app.state.store
    return store


async def get_session(store: Annotated[Store, Depends(get_store)]) -> AsyncIterator[Session]:
    """A session for one request (reads), opened and closed on the event loop.

    Neither does network I/O: it connects on first use, in the route's worker thread, and
    closing ends no transaction on the server (PostgreSQL reads run in autocommit; a
    SQLite read transaction ends in-process), so no worker-thread hop is spent on either.
    """
    session = store.readers()
    try:
        yield session
    finally:
        session.close()


def get_transaction(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """A session whose transaction commits when the route returns, or rolls back if it raises."""
    with store.sessions.begin() as session:
        yield session


StoreDep = Annotated[Store, Depends(get_store)]
# scope="function": the session ends (and a write commits) before the response is sent,
# so a client never sees success for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
TxDep = Annotated[Session, Depends(get_transaction, scope="function")]

# Ids the database can hold: INTEGER keys, and BIGINT for punches and the quarantine.
# A larger number in a path or body is a 422, never a database overflow.
RowId = Annotated[int, Interval(ge=1, le=2**31 - 1)]
BigRowId = Annotated[int, Interval(ge=1, le=2**63 - 1)]

_INSTANT = TypeAdapter(AwareDatetime)


def instant_or_day(value: Any) -> datetime | date:
    """An aware time, or a bare date (the caller reads it in the site's zone)."""
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    if len(text) == len("2026-11-25"):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    try:
        return _INSTANT.validate_python(text)
    except ValidationError:
        raise ValueError(
            "give a time with its UTC offset (2026-11-25T08:00:00+01:00 or "
            "2026-11-25T07:00:00Z) or a date (2026-11-25)"
        ) from None


# A time filter: an instant with its offset, or a date read in the site's zone.
InstantOrDay = Annotated[
    datetime | date,
    PlainValidator(instant_or_day),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]
