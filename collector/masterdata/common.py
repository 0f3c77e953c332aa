"""Helpers every master-data service shares: fetch-or-404, apply values, flush with conflicts."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

from collector.errors import Conflict, NotFound
from collector.store.models import Department, Site

M = TypeVar("M", bound=DeclarativeBase)


def fetch(session: Session, model: type[M], ident: int, what: str) -> M:
    """The row with primary key `ident`, or NotFound naming `what`."""
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"no {what} {ident}")
    return row


def apply(row: Any, values: dict[str, Any]) -> None:
    """Set attributes from a mapping of column name to value."""
    for name, value in values.items():
        setattr(row, name, value)


def flush(session: Session, what: str) -> None:
    """Flush, turning unique-constraint and foreign-key violations into Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"{what} clashes with stored data (duplicate code or missing reference)"
        ) from exc


def department_id(session: Session, code: str | None) -> int | None:
    """The id of the department with `code` (None for None); NotFound otherwise."""
    if code is None:
        return None
    found = session.scalar(select(Department.id).where(Department.code == code))
    if found is None:
        raise NotFound(f"no department {code!r}", field="department")
    return found


def site_id(session: Session, code: str | None) -> int | None:
    """The id of the site with `code` (None for None); NotFound otherwise."""
    if code is None:
        return None
    found = session.scalar(select(Site.id).where(Site.code == code))
    if found is None:
        raise NotFound(f"no site {code!r}", field="site")
    return found
