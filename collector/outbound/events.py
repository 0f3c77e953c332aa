"""Events and the outbox they are written to, in the transaction of the change that causes them.

Each event becomes one outbox row per enabled target subscribed to its type, carrying the
body every attempt will send byte for byte and a `msg_id` shared by all of them (the
`webhook-id` receivers deduplicate on). No subscriber, no row: an unsubscribed event costs
one look-up of the (small) targets table per batch.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from collector.store.coltypes import db_time


class EventType(enum.StrEnum):
    """Every event type a target can subscribe to (docs/webhooks.md)."""

    PUNCH_CREATED = "punch.created"
    PUNCH_VOIDED = "punch.voided"
    DAY_FINALIZED = "day.finalized"
    DEVICE_OFFLINE = "device.offline"
    DEVICE_ONLINE = "device.online"
    # Declared for the pay-period and request work of issue 16; nothing emits them yet.
    PERIOD_CLOSED = "period.closed"
    REQUEST_DECIDED = "request.decided"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: its type, its data, and whom it concerns."""

    type: EventType
    data: dict[str, Any]
    subject: str | None = None  # the employee code or device code it concerns


OUTBOX_COLUMNS = (
    "msg_id",
    "target_id",
    "event_type",
    "payload",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def subscribers(conn: Connection, types: Iterable[EventType]) -> dict[EventType, list[int]]:
    """The enabled targets subscribed to each of `types` (types without any are left out)."""
    wanted = set(types)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            "SELECT id, events FROM outbound_targets WHERE enabled = "
            + ("1" if conn.dialect.name == "sqlite" else "true")
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    out: dict[EventType, list[int]] = {}
    for target_id, events in rows:
        names = json.loads(events) if isinstance(events, str) else events
        for name in names or ():
            if name in wanted:
                out.setdefault(EventType(name), []).append(target_id)
    return out


def emit(
    conn: Connection,
    events: Sequence[Event],
    *,
    now: datetime,
    targets: dict[EventType, list[int]] | None = None,
) -> int:
    """Write each event once per subscribed target, inside the caller's transaction."""
    if not events:
        return 0
    if targets is None:
        targets = subscribers(conn, {e.type for e in events})
    if not targets:
        return 0
    dialect = conn.dialect.name
    stamp = db_time(now, dialect)
    timestamp = now.isoformat().replace("+00:00", "Z")
    rows: list[tuple[Any, ...]] = []
    for event in events:
        ids = targets.get(event.type)
        if not ids:
            continue
        body = orjson.dumps({"type": event.type.value, "timestamp": timestamp, "data": event.data})
        text = body.decode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        subject = None if event.subject is None else event.subject[:64]
        for target_id in ids:
            rows.append(
                (msg_id, target_id, event.type.value, text, subject, "pending", 0, stamp, stamp)
            )
    if rows:
        mark = "?" if dialect == "sqlite" else "%s"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)})"
                f" VALUES ({', '.join([mark] * len(OUTBOX_COLUMNS))})",
                rows,
            )
        finally:
            cursor.close()
    return len(rows)
