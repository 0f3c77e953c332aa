"""Listing punches with filters and an opaque cursor over the stable order (occurred_at, id)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    any_,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from collector.errors import InvalidInput
from collector.masterdata.scope import Scope
from collector.normalize import zone
from collector.store.models import Department, Employee, Punch
from rules.vocabulary import SourceKind


@dataclass(frozen=True, slots=True, kw_only=True)
class PunchFilter:
    """What to select within the caller's scope; every other field left None does not filter."""

    scope: Scope  # whose punches the caller may see; every filter below narrows it further
    employee_code: str | None = None
    employee_id: int | None = None
    department: str | None = None  # department code
    device: str | None = None
    source_kind: SourceKind | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    flags: int = 0  # every one of these flags must be set


def bound(value: datetime | date | None, tz: str, *, end: bool = False) -> datetime | None:
    """A filter bound: an aware time as it is, or a date's start in `tz` (`end`: the start
    of the day after, so a date given as `until` includes its whole day)."""
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=zone(tz))


@dataclass(frozen=True, slots=True)
class PunchPage:
    """One page (rows with the punch columns as attributes) and the next cursor."""

    items: list[Row[Any]]
    next_cursor: str | None


def encode_cursor(punch: Punch | Row[Any], descending: bool) -> str:
    """The opaque cursor pointing just past `punch`."""
    text = f"{'d' if descending else 'a'}|{punch.occurred_at.isoformat()}|{punch.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[bool, datetime, int]:
    """Direction, time and id a cursor names; InvalidInput for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, stamp, ident = text.split("|")
        when = datetime.fromisoformat(stamp)
        if direction not in ("a", "d") or when.tzinfo is None:
            raise ValueError(direction)
        return direction == "d", when, int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from None


def list_punches(
    session: Session,
    *,
    filters: PunchFilter,
    cursor: str | None = None,
    descending: bool = False,
    limit: int = 100,
    columns: Sequence[str] | None = None,
) -> PunchPage:
    """A page of punches in (occurred_at, id) order, resuming after `cursor`.

    `columns` names the punch columns to select (all by default; id and occurred_at
    are needed for the cursor).
    """
    query = _filtered(filters, session.get_bind().dialect.name, columns)
    if cursor is not None:
        descending, when, ident = decode_cursor(cursor)
        if descending:
            query = query.where(
                or_(Punch.occurred_at < when, and_(Punch.occurred_at == when, Punch.id < ident))
            )
        else:
            query = query.where(
                or_(Punch.occurred_at > when, and_(Punch.occurred_at == when, Punch.id > ident))
            )
    if descending:
        query = query.order_by(Punch.occurred_at.desc(), Punch.id.desc())
    else:
        query = query.order_by(Punch.occurred_at, Punch.id)
    # Plain rows, not ORM objects: a page is read once, and building entities costs more.
    rows = list(session.connection().execute(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return PunchPage(rows, encode_cursor(rows[-1], descending) if more and rows else None)


def _filtered(f: PunchFilter, dialect: str, columns: Sequence[str] | None) -> Select[Any]:
    table = Punch.__table__.c
    query = select(*(table if columns is None else (table[name] for name in columns)))
    if f.employee_code is not None:
        query = query.where(Punch.employee_code == f.employee_code)
    if f.employee_id is not None:
        query = query.where(Punch.employee_id == f.employee_id)
    if f.device is not None:
        query = query.where(Punch.device_code == f.device)
    if f.source_kind is not None:
        query = query.where(Punch.source_kind == f.source_kind.value)
    if f.since is not None:
        query = query.where(Punch.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(Punch.occurred_at < f.until)
    if f.flags:
        query = query.where(Punch.flags.op("&")(f.flags) == f.flags)
    if f.department is not None:
        # A subquery, not a lookup first: one round trip; an unknown code matches nothing.
        dept = select(Department.id).where(Department.code == f.department).scalar_subquery()
        query = query.where(_employee_in(Employee.department_id == dept, dialect))
    if not f.scope.everyone:
        query = query.where(_employee_in(f.scope.employees(), dialect))
    return query


def _employee_in(condition: ColumnElement[bool], dialect: str) -> ColumnElement[bool]:
    """Punches of the employees meeting `condition`.

    PostgreSQL plans ``employee_id IN (subquery)`` as a scan of the time range with a
    per-row lookup; ``= ANY(array)`` lets it probe the (employee_id, occurred_at) index
    once per employee instead, five times faster for a department's page.
    """
    if dialect == "postgresql":
        ids = select(func.array_agg(Employee.id)).where(condition).scalar_subquery()
        # The cast makes it ANY(array), not ANY(subquery) comparing ints to arrays.
        return Punch.employee_id == any_(cast(ids, ARRAY(Integer)))
    return Punch.employee_id.in_(select(Employee.id).where(condition))
