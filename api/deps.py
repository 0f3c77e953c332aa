"""Dependency aliases shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from annotated_types import Interval
from fastapi import Depends, Request
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
