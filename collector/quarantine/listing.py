"""Reading the quarantine: items by filter, counts by reason and by source, each item's zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from collector.errors import Conflict, NotFound
from collector.normalize import NormalizeError, zone
from collector.store.models import Device, Quarantine
from rules.vocabulary import SourceKind

STATUSES = ("open", "reprocessed", "dismissed")
TOP = 50  # counts name the most frequent reasons and sources; `total` counts them all


@dataclass(frozen=True, slots=True)
class QuarantineFilter:
    """Which items: by status, exact reason, source kind, device and time received."""

    status: str | None = "open"
    reason: str | None = None
    source_kind: SourceKind | None = None
    device_code: str | None = None
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before
    through_id: int | None = None  # only items up to this id (those a preview counted)

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the status narrows the items down."""
        return any(
            v is not None
            for v in (self.reason, self.source_kind, self.device_code, self.since, self.until)
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter."""
        q = Quarantine
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(q.status == self.status)
        if self.reason is not None:
            found.append(q.reason == self.reason)
        if self.source_kind is not None:
            found.append(q.source_kind == self.source_kind.value)
        if self.device_code is not None:
            found.append(q.device_code == self.device_code)
        if self.since is not None:
            found.append(q.received_at >= self.since)
        if self.until is not None:
            found.append(q.received_at < self.until)
        if self.through_id is not None:
            found.append(q.id <= self.through_id)
        return found

    def described(self) -> dict[str, Any]:
        """The filter as JSON values, for the audit log."""
        values = {
            "status": self.status,
            "reason": self.reason,
            "source_kind": None if self.source_kind is None else self.source_kind.value,
            "device_code": self.device_code,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "through_id": self.through_id,
        }
        return {k: v for k, v in values.items() if v is not None}


def list_items(
    session: Session,
    *,
    filters: QuarantineFilter = QuarantineFilter(),
    after_id: int | None = None,
    limit: int = 100,
) -> list[Quarantine]:
    """Quarantined items, oldest first, resuming after `after_id`."""
    query = select(Quarantine).where(*filters.conditions()).order_by(Quarantine.id).limit(limit)
    if after_id is not None:
        query = query.where(Quarantine.id > after_id)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class Counts:
    """How many items a filter matches, by reason and by source (kind and device)."""

    total: int
    inputs: int  # the bad inputs those items stand for (flood summaries count several)
    last_id: int | None  # the newest matching item, for a bulk action to stop at
    by_reason: list[tuple[str, int]]
    by_source: list[tuple[str, str | None, int]]


def counts(session: Session, *, filters: QuarantineFilter = QuarantineFilter()) -> Counts:
    """The filter's items counted, the most frequent reasons and sources first."""
    where = filters.conditions()
    total, inputs, last_id = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Quarantine.input_count), 0),
            func.max(Quarantine.id),
        ).where(*where)
    ).one()
    n = func.count().label("n")
    q = Quarantine
    reasons = session.execute(
        select(q.reason, n).where(*where).group_by(q.reason).order_by(n.desc(), q.reason).limit(TOP)
    )
    sources = session.execute(
        select(q.source_kind, q.device_code, n)
        .where(*where)
        .group_by(q.source_kind, q.device_code)
        .order_by(n.desc(), q.source_kind, q.device_code)
        .limit(TOP)
    )
    return Counts(
        total=int(total),
        inputs=int(inputs),
        last_id=None if last_id is None else int(last_id),
        by_reason=[(str(r[0]), int(r[1])) for r in reasons],
        by_source=[(str(r[0]), r[1], int(r[2])) for r in sources],
    )


def open_item(session: Session, item_id: int) -> Quarantine:
    """The item `item_id`, locked, if it is still open (NotFound or Conflict otherwise)."""
    item = session.scalar(select(Quarantine).where(Quarantine.id == item_id).with_for_update())
    if item is None:
        raise NotFound(f"no quarantine item {item_id}")
    if item.status != "open":
        raise Conflict(f"quarantine item {item_id} is already {item.status}")
    return item


def item_zones(session: Session, items: Iterable[Quarantine], *, default: str) -> dict[int, str]:
    """The zone each item's times are shown in: its device's, else its punch's, else `default`."""
    listed = list(items)
    codes = {q.device_code for q in listed if q.device_code}
    devices: dict[str, str] = {}
    if codes:
        found = session.execute(select(Device.code, Device.timezone).where(Device.code.in_(codes)))
        devices = {code: tz for code, tz in found if _known(tz)}
    zones: dict[int, str] = {}
    for q in listed:
        attempted = (q.attempt or {}).get("tz")
        tz = devices.get(q.device_code or "") or (attempted if _known(attempted) else None)
        zones[q.id] = tz or default
    return zones


def _known(tz: Any) -> bool:
    if not isinstance(tz, str) or not tz:
        return False
    try:
        zone(tz)
    except NormalizeError:
        return False
    return True
