"""The append-only audit log: every manual change with who, when, what and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.store.models import AuditLog


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None,
    now: datetime,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit entry in the caller's transaction (so it commits with the change)."""
    entry = AuditLog(
        at=now,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[AuditLog]:
    """Audit entries in the order they were written, optionally for one entity."""
    query = select(AuditLog).order_by(AuditLog.id).limit(limit)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    if after_id is not None:
        query = query.where(AuditLog.id > after_id)
    return list(session.scalars(query))
