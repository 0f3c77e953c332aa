"""Dependency aliases shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from collector.runtime import Store


def get_store(request: Request) -> Store:
    """The store the app was started with."""
    store: Store = request.app.state.store
    return store


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """A session for one request."""
    with store.sessions() as session:
        yield session


StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]
