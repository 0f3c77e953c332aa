"""Events and the outbox they are written to, in the transaction of the change that causes them.

Each event becomes one outbox row per enabled target subscribed to its type, carrying a
`msg_id` shared by all of them (the `webhook-id` receivers deduplicate on) and the body
every attempt sends byte for byte. No subscriber, no row: an unsubscribed event costs one
look-up of the (small) targets table per batch.

Punch events are the hot path (every ingest): their rows are written by one INSERT … SELECT
from the punches just stored, naming the punch (`ref_id`) instead of carrying a body; the
body is built from the punch when the message is claimed, and stored when a retry is to
follow, so every later attempt sends the same bytes. A punch is never edited (only linked to its
employee), so that body says what the event said. Their `msg_id` is the punch's dedupe key.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
    PERIOD_CLOSED = "period.closed"
    REQUEST_DECIDED = "request.decided"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: its type, its data, and whom it concerns."""

    type: EventType
    data: dict[str, Any]
    subject: str | None = None  # the employee code or device code it concerns


PUNCH_EVENTS = (EventType.PUNCH_CREATED, EventType.PUNCH_VOIDED)
# New punches' ids: a list (PostgreSQL's RETURNING) or the range SQLite inserted them at.
PunchIds = list[int] | range

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


def envelope(kind: EventType, at: datetime, data: dict[str, Any]) -> str:
    """The JSON body every event is sent as: its type, when it happened (UTC), its data."""
    body = {"type": kind.value, "timestamp": at.astimezone(UTC), "data": data}
    # orjson writes datetimes and dates as RFC 3339 itself (UTC with a Z), in C.
    return orjson.dumps(body, option=orjson.OPT_UTC_Z).decode()


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
    rows: list[tuple[Any, ...]] = []
    for event in events:
        ids = targets.get(event.type)
        if not ids:
            continue
        text = envelope(event.type, now, event.data)
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


def emit_punches(
    conn: Connection, targets: dict[EventType, list[int]], ids: PunchIds, *, now: datetime
) -> None:
    """punch.created / punch.voided rows for the punches `ids` names, in one statement each."""
    dialect = conn.dialect.name
    m = "?" if dialect == "sqlite" else "%s"
    stamp = db_time(now, dialect)
    params: list[Any]
    if isinstance(ids, range):
        where, params = f"p.id >= {m} AND p.id < {m}", [ids.start, ids.stop]
    else:
        where, params = f"p.id = ANY({m})", [list(ids)]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for kind, voids in (
            (EventType.PUNCH_CREATED, "IS NULL"),
            (EventType.PUNCH_VOIDED, "IS NOT NULL"),
        ):
            target_ids = targets.get(kind)
            if not target_ids:
                continue
            cursor.execute(
                "INSERT INTO outbox (msg_id, target_id, event_type, ref_id, subject, status,"
                " attempts, next_attempt_at, created_at)"
                f" SELECT 'msg_' || p.dedupe_key, t.id, {m}, p.id, p.employee_code, 'pending',"
                f" 0, {m}, {m} FROM punches p"
                f" JOIN outbound_targets t ON t.id IN ({', '.join([m] * len(target_ids))})"
                f" WHERE {where} AND p.voids_punch_id {voids}",
                (kind.value, stamp, stamp, *target_ids, *params),
            )
    finally:
        cursor.close()
