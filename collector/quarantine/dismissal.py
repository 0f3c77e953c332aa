"""Dismissing quarantined input HR will not replay: one item, or every item a filter matches.

A dismissed item leaves the open list but stays stored, with the reason, until the
retention period for dismissed items has passed (`collector.retention`). Each dismissal is
audited in the same transaction: one entry per item, or one entry per bulk dismissal with
its filter and how many items it dismissed.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from collector.audit import record
from collector.errors import InvalidInput
from collector.quarantine.listing import QuarantineFilter, open_item
from collector.store.models import Quarantine

MIN_REASON = 3


def dismiss(
    session: Session, *, item_id: int, reason: str, actor: str, now: datetime
) -> Quarantine:
    """Dismiss one open item with HR's reason."""
    why = _reason(reason)
    item = open_item(session, item_id)
    item.status, item.resolved_at, item.note = "dismissed", now, why
    record(
        session,
        actor=actor,
        action="quarantine.dismiss",
        entity="quarantine",
        entity_id=item.id,
        now=now,
        reason=why,
    )
    return item


def dismiss_matching(
    session: Session, *, filters: QuarantineFilter, reason: str, actor: str, now: datetime
) -> int:
    """Dismiss every open item the filter matches; returns how many."""
    why = _reason(reason)
    if not filters.narrowed:
        # Everything at once is too easy to do by accident; a filter says what HR looked at.
        raise InvalidInput(
            "name a reason, source, device or time range to dismiss by", field="filter"
        )
    chosen = dataclasses.replace(filters, status="open")
    done = session.execute(
        update(Quarantine)
        .where(*chosen.conditions())
        .values(status="dismissed", resolved_at=now, note=why)
        .execution_options(synchronize_session=False)
    )
    count = max(int(done.rowcount or 0), 0)  # type: ignore[attr-defined]
    record(
        session,
        actor=actor,
        action="quarantine.dismiss_matching",
        entity="quarantine",
        entity_id=None,
        now=now,
        reason=why,
        details={"count": count, "filter": chosen.described()},
    )
    return count


def _reason(reason: str) -> str:
    why = reason.strip()
    if len(why) < MIN_REASON:
        raise InvalidInput(f"give a reason of at least {MIN_REASON} characters", field="reason")
    return why
