"""Claiming outbox messages, recording what became of them, backoff, and manual replay.

A claim moves a message's `next_attempt_at` forward by a lease and counts the attempt, and
commits before anything is sent: a process killed mid-send leaves the message to be claimed
again when the lease ends (same `msg_id`, so the receiver sees one event). On PostgreSQL
the claim's `FOR UPDATE SKIP LOCKED` lets several processes claim side by side without
waiting on or taking each other's messages; SQLite has one writer at a time, so its claims
are serialised by the database and one service owns its outbox anyway.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from collector.days.context import CHUNK, as_utc
from collector.outbound.payloads import PUNCH_FIELDS, punch_body
from collector.store.coltypes import db_time

# Retries: 5 s, then three times longer each time up to 8 h between attempts, each delay
# jittered down by up to a quarter; a message still undelivered after the window (3 days
# by default) is given up as failed. That is about 17 attempts.
FIRST_DELAY_S = 5.0
GROWTH = 3.0
MAX_DELAY_S = 8 * 3600.0
MAX_ERROR_CHARS = 2000


class Outcome(enum.StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"  # 2xx, or the connector's "already there"
    RETRY = "retry"  # no answer, 5xx, any other status: try again later
    REJECTED = "rejected"  # the target refused it for a reason HR must fix (unknown employee)
    GONE = "gone"  # 410: the endpoint is disabled
    SKIPPED = "skipped"  # the target has nothing to do with this event


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for one attempt."""

    id: int
    msg_id: str
    target_id: int
    event_type: str
    payload: str
    subject: str | None
    attempts: int  # including this one
    created_at: datetime
    built: bool = False  # the body was built for this attempt, not read from the row


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of sending one claimed message."""

    message: Claimed
    outcome: Outcome
    code: int | None = None
    error: str | None = None
    duration_ms: int = 0


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before the next attempt after `attempts` failed ones: exponential, jittered."""
    delay = min(MAX_DELAY_S, FIRST_DELAY_S * GROWTH ** max(attempts - 1, 0))
    return delay * rng.uniform(0.75, 1.0)


def claim(
    engine: Engine,
    *,
    now: datetime,
    limit: int,
    lease_s: float,
    skip_targets: Sequence[int] = (),
) -> list[Claimed]:
    """Claim up to `limit` due messages of enabled targets but `skip_targets`, one attempt each."""
    with engine.begin() as conn:
        dialect = conn.dialect.name
        m = "?" if dialect == "sqlite" else "%s"
        lock = "" if dialect == "sqlite" else " FOR UPDATE OF o SKIP LOCKED"
        enabled = "1" if dialect == "sqlite" else "true"
        skip = ""
        if skip_targets:
            skip = f" AND o.target_id NOT IN ({', '.join(str(int(t)) for t in skip_targets)})"
        sql = (
            f"UPDATE outbox SET next_attempt_at = {m}, attempts = attempts + 1"
            f" WHERE id IN (SELECT o.id FROM outbox o"
            f" JOIN outbound_targets t ON t.id = o.target_id AND t.enabled = {enabled}"
            f" WHERE o.status = 'pending' AND o.next_attempt_at <= {m}{skip}"
            f" ORDER BY o.next_attempt_at LIMIT {m}{lock})"
            " RETURNING id, msg_id, target_id, event_type, payload, subject, attempts, created_at,"
            " ref_id"
        )
        lease = db_time(now + timedelta(seconds=lease_s), dialect)
        rows = _run(conn, sql, (lease, db_time(now, dialect), limit))
        bodies = _punch_bodies(conn, [r[8] for r in rows if r[4] is None and r[8] is not None])
        if bodies:
            rows = [(*r[:4], bodies.get(r[8], r[4]), *r[5:]) if r[4] is None else r for r in rows]
    return [
        Claimed(
            id=r[0],
            msg_id=r[1],
            target_id=r[2],
            event_type=r[3],
            payload=r[4] or "",
            subject=r[5],
            attempts=r[6],
            created_at=_aware(r[7]),
            built=r[8] is not None and r[8] in bodies,
        )
        for r in rows
    ]


def record(
    engine: Engine,
    attempts: Sequence[Attempt],
    *,
    now: datetime,
    window_s: float,
    rng: random.Random,
) -> None:
    """Store each attempt's outcome and its log line; a lost lease changes nothing."""
    if not attempts:
        return
    with engine.begin() as conn:
        dialect = conn.dialect.name
        m = "?" if dialect == "sqlite" else "%s"
        at = db_time(now, dialect)
        updates: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        gone: set[int] = set()
        keep: list[tuple[str, int]] = []
        off = "0" if dialect == "sqlite" else "false"
        for a in attempts:
            msg = a.message
            error = None if a.error is None else a.error[:MAX_ERROR_CHARS]
            status, due, delivered = _next_state(a, now, window_s, rng)
            done = at if delivered else None
            updates.append(
                (status, db_time(due, dialect), a.code, error, done, msg.id, msg.attempts)
            )
            logs.append((msg.id, at, a.code, a.outcome.value, error, a.duration_ms))
            if a.outcome is Outcome.GONE:
                gone.add(msg.target_id)
            if msg.built and status == "pending":
                keep.append((msg.payload, msg.id))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            # attempts = the claim's count: a message whose lease ran out and was claimed
            # again by another worker is that worker's to record.
            if dialect == "sqlite":
                cursor.executemany(
                    "UPDATE outbox SET status = ?, next_attempt_at = ?, last_code = ?,"
                    " last_error = ?, delivered_at = COALESCE(?, delivered_at)"
                    " WHERE id = ? AND attempts = ?",
                    updates,
                )
                cursor.executemany(
                    "INSERT INTO outbox_attempts (message_id, at, code, outcome, error,"
                    " duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                    logs,
                )
            else:
                _record_postgres(cursor, updates, logs)
            if keep:  # a retry follows: it must send the bytes this attempt sent
                cursor.executemany(f"UPDATE outbox SET payload = {m} WHERE id = {m}", keep)
            for target_id in sorted(gone):
                cursor.execute(
                    f"UPDATE outbound_targets SET enabled = {off},"
                    f" disabled_reason = {m} WHERE id = {m}",
                    ("the endpoint answered 410 Gone", target_id),
                )
        finally:
            cursor.close()


def _record_postgres(
    cursor: Any, updates: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]
) -> None:
    """The outcomes in a few statements: messages sharing an outcome (most of a batch, when
    an endpoint is up) in one UPDATE by id; the log in one INSERT from arrays."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for status, due, code, error, done, msg_id, attempts in updates:
        groups.setdefault((status, due, code, error, done, attempts), []).append(msg_id)
    for (status, due, code, error, done, attempts), ids in groups.items():
        cursor.execute(
            "UPDATE outbox SET status = %s, next_attempt_at = %s, last_code = %s,"
            " last_error = %s, delivered_at = COALESCE(%s, delivered_at)"
            " WHERE id = ANY(%s) AND attempts = %s",
            (status, due, code, error, done, ids, attempts),
        )
    cursor.execute(
        "INSERT INTO outbox_attempts (message_id, at, code, outcome, error, duration_ms)"
        " SELECT * FROM unnest(%s::bigint[], %s::timestamp[], %s::int[], %s::text[],"
        " %s::text[], %s::int[])",
        [list(column) for column in zip(*logs, strict=True)],
    )


def _next_state(
    a: Attempt, now: datetime, window_s: float, rng: random.Random
) -> tuple[str, datetime, bool]:
    """The message's status and next due time after this attempt, and whether it arrived."""
    if a.outcome is Outcome.DELIVERED:
        return "delivered", now, True
    if a.outcome is Outcome.SKIPPED:
        return "skipped", now, False
    if a.outcome is Outcome.REJECTED:
        return "rejected", now, False
    if a.outcome is Outcome.GONE:
        return "failed", now, False
    due = now + timedelta(seconds=backoff(a.message.attempts, rng))
    if due > a.message.created_at + timedelta(seconds=window_s):
        return "failed", now, False
    return "pending", due, False


def replay(conn: Connection, message_ids: Sequence[int], *, now: datetime) -> int:
    """Send messages again now, whatever became of them (same msg_id, fresh retry window)."""
    if not message_ids:
        return 0
    dialect = conn.dialect.name
    m = "?" if dialect == "sqlite" else "%s"
    stamp = db_time(now, dialect)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"UPDATE outbox SET status = 'pending', next_attempt_at = {m}, created_at = {m},"
            f" attempts = 0 WHERE id = {m}",
            [(stamp, stamp, mid) for mid in message_ids],
        )
        count = cursor.rowcount
    finally:
        cursor.close()
    return int(count) if count is not None and count >= 0 else len(message_ids)


def _punch_bodies(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Bodies of first-claimed punch events, built from their punches, by punch id."""
    if not ids:
        return {}
    dialect = conn.dialect.name
    m = "?" if dialect == "sqlite" else "%s"
    out: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = sorted(set(ids[start : start + CHUNK]))
        sql = (
            f"SELECT {', '.join(PUNCH_FIELDS)} FROM punches"
            f" WHERE id IN ({', '.join([m] * len(chunk))})"
        )
        for row in _run(conn, sql, tuple(chunk)):
            out[row[0]] = punch_body(dict(zip(PUNCH_FIELDS, row, strict=True)))
    return out


def _run(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _aware(value: Any) -> datetime:
    out = as_utc(value)
    assert out is not None
    return out
