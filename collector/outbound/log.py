"""The delivery log as HR and admins read it: messages, attempts, per-employee errors, replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.errors import NotFound
from collector.outbound.delivery import replay
from collector.outbound.targets import get_target
from collector.store.models import OutboxAttempt, OutboxMessage

STATUSES = ("pending", "delivered", "failed", "rejected", "skipped")


def messages(
    session: Session,
    target_id: int,
    *,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[OutboxMessage]:
    """A target's messages, newest first, a page at a time (`before_id` is the cursor)."""
    get_target(session, target_id)
    query = select(OutboxMessage).where(OutboxMessage.target_id == target_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    return session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)).all()


def get_message(session: Session, message_id: int) -> OutboxMessage:
    """One message, or NotFound."""
    msg = session.get(OutboxMessage, message_id)
    if msg is None:
        raise NotFound(f"no outbox message {message_id}")
    return msg


def attempts(session: Session, message_id: int) -> Sequence[OutboxAttempt]:
    """Every attempt at one message, oldest first."""
    get_message(session, message_id)
    return session.scalars(
        select(OutboxAttempt)
        .where(OutboxAttempt.message_id == message_id)
        .order_by(OutboxAttempt.id)
    ).all()


def replay_message(session: Session, message_id: int, *, now: datetime) -> OutboxMessage:
    """Send one message again now (same webhook-id)."""
    msg = get_message(session, message_id)
    replay(session.connection(), [msg.id], now=now)
    session.refresh(msg)
    return msg


def replay_target(session: Session, target_id: int, *, status: str, now: datetime) -> int:
    """Send again every message of a target in `status` (failed, or rejected once HR fixed it)."""
    get_target(session, target_id)
    ids = list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.target_id == target_id, OutboxMessage.status == status
            )
        )
    )
    return replay(session.connection(), ids, now=now)


def employee_errors(session: Session, target_id: int) -> list[dict[str, Any]]:
    """Rejected messages per employee (or device): what HR must fix in the target system."""
    get_target(session, target_id)
    rows = session.execute(
        select(
            OutboxMessage.subject,
            func.count(),
            func.max(OutboxMessage.id),
        )
        .where(OutboxMessage.target_id == target_id, OutboxMessage.status == "rejected")
        .group_by(OutboxMessage.subject)
        .order_by(OutboxMessage.subject)
    ).all()
    out = []
    for subject, count, last_id in rows:
        last = session.get(OutboxMessage, last_id)
        assert last is not None
        out.append(
            {
                "subject": subject,
                "messages": count,
                "last_error": last.last_error,
                "last_attempt_at": last.next_attempt_at,
            }
        )
    return out
