"""The one idempotent ingest every source uses: normalise, dedupe, store, mark days dirty.

The hot path talks to the DB-API cursor with `executemany` over pre-built tuples: the ORM
would spend more time per row than the database does. Idempotency comes from the
unique `dedupe_key` and `INSERT … ON CONFLICT DO NOTHING` on both backends.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from collector.normalize import (
    NormalizeError,
    NormalizePolicy,
    Normalizer,
    PunchRow,
    QuarantineLimits,
    RawPunch,
    key_identity,
    raw_to_json,
    rekey,
    text_safe,
)
from collector.outbound.events import PUNCH_EVENTS, PunchIds, emit_punches, subscribers
from collector.store import flood

# Re-exported: the days, policies and benches take them from here.
from collector.store.coltypes import db_date as db_date
from collector.store.coltypes import db_time as db_time
from collector.store.flood import MAX_RAW_CHARS
from rules.vocabulary import PunchFlag, SourceKind

PUNCH_COLUMNS = (*PunchRow.__annotations__, "employee_id", "received_at")
QUARANTINE_COLUMNS = (
    "dedupe_key",
    "received_at",
    "source_kind",
    "device_code",
    "reference",
    "reason",
    "raw",
    "status",
    "attempt",
    "origin",
    "input_count",
    "raw_size",
)
UNKNOWN_EMPLOYEE = int(PunchFlag.UNKNOWN_EMPLOYEE)  # a plain int: IntFlag's | is slow per row
LOOKUP_CHUNK = 900  # keeps IN (...) lists under every backend's parameter limit


class Outcome(enum.StrEnum):
    """What became of one item handed to ingest."""

    INSERTED = "inserted"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """Input a parser already knows is bad; stored in quarantine with the reason."""

    source_kind: SourceKind
    reason: str
    raw: str
    device_code: str | None = None
    reference: str | None = None
    # The raw punch that failed normalisation, as JSON, so it can be replayed once fixed.
    attempt: dict[str, Any] | None = None
    origin: str | None = None  # who sent it when not `device_code` (a phone's topic)
    count: int = 1  # how many bad inputs it stands for (a summary of a flood: more)
    raw_size: int | None = None  # bytes of raw input it stands for, when more than kept


@dataclass(slots=True)
class IngestResult:
    """Counts of one ingest call, and each item's outcome in input order."""

    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)  # input index → quarantine reason


def ingest(
    conn: Connection,
    batch: Iterable[RawPunch | QuarantineItem],
    *,
    now: datetime,
    policy: NormalizePolicy,
) -> IngestResult:
    """Store a batch inside the caller's transaction; safe to repeat with the same input."""
    result = IngestResult()
    normalizer = Normalizer(now=now, policy=policy)
    rows: list[PunchRow] = []
    row_index: list[int] = []
    bad: list[tuple[int, QuarantineItem]] = []
    for i, item in enumerate(batch):
        result.outcomes.append(Outcome.INSERTED)
        if isinstance(item, QuarantineItem):
            bad.append((i, item))
            continue
        try:
            rows.append(normalizer(item))
            row_index.append(i)
        except NormalizeError as exc:
            bad.append((i, _quarantine_item(item, str(exc))))
    for i, q in bad:
        result.outcomes[i] = Outcome.QUARANTINED
        result.reasons[i] = q.reason
    result.quarantined = len(bad)
    if bad:
        _store_quarantine(conn, [q for _, q in bad], now, policy.quarantine)
    if rows:
        _store_punches(conn, rows, row_index, result, now)
    return result


def ingest_batch(
    engine: Engine,
    batch: Iterable[RawPunch | QuarantineItem],
    *,
    now: datetime,
    policy: NormalizePolicy,
) -> IngestResult:
    """Ingest in a transaction of its own; when this returns, the batch is committed."""
    with engine.begin() as conn:
        return ingest(conn, batch, now=now, policy=policy)


def _store_punches(
    conn: Connection,
    rows: list[PunchRow],
    row_index: list[int],
    result: IngestResult,
    now: datetime,
    round_: int = 0,
) -> None:
    # Within-batch repeats are duplicates before the database is asked. A different punch
    # with a key already in this batch waits for the next round, which asks who holds it;
    # one whose key a different stored punch holds (a collision) goes round re-keyed.
    seen: dict[int, PunchRow] = {}
    fresh: list[PunchRow] = []
    fresh_index: list[int] = []
    waiting: list[tuple[PunchRow, int]] = []
    collided: list[tuple[PunchRow, int]] = []
    for row, i in zip(rows, row_index, strict=True):
        key = row["dedupe_key"]
        first = seen.get(key)
        if first is None:
            seen[key] = row
            fresh.append(row)
            fresh_index.append(i)
        elif _identity(first) == _identity(row):
            result.outcomes[i] = Outcome.DUPLICATE
            result.duplicates += 1
        else:
            waiting.append((row, i))
    # Skip keys already stored, so a re-ingest writes nothing at all: one probe of the key
    # index, near its end (keys follow the wall clock), and who holds each key, for collisions.
    existing = stored_identities(conn, list(seen))
    if existing:
        keep: list[int] = []
        for k, (row, i) in enumerate(zip(fresh, fresh_index, strict=True)):
            held = existing.get(row["dedupe_key"])
            if held is None:
                keep.append(k)
            elif held == _identity(row):
                result.outcomes[i] = Outcome.DUPLICATE
                result.duplicates += 1
            else:
                collided.append((row, i))
        fresh = [fresh[k] for k in keep]
        fresh_index = [fresh_index[k] for k in keep]
    if fresh:
        _insert_punches(conn, fresh, fresh_index, result, now, collided)
    if waiting:
        _store_punches(conn, [r for r, _ in waiting], [i for _, i in waiting], result, now, round_)
    if collided:
        _store_collided(conn, collided, result, now, round_)


def _insert_punches(
    conn: Connection,
    fresh: list[PunchRow],
    fresh_index: list[int],
    result: IngestResult,
    now: datetime,
    collided: list[tuple[PunchRow, int]],
) -> None:
    postgres = conn.dialect.name == "postgresql"
    employees = employee_ids(conn, {r["employee_code"] for r in fresh})
    received = db_time(now, conn.dialect.name)
    values = [
        _punch_values(row, employees.get(row["employee_code"]), received, conn.dialect.name)
        for row in fresh
    ]
    targets = subscribers(conn, PUNCH_EVENTS)
    stored: set[int] | None
    new_ids: PunchIds
    held: dict[int, tuple[str | None, ...]] = {}
    if postgres:
        ids = _copy_insert(conn, values)
        stored = set(ids)
        new_ids = list(ids.values())
        if len(stored) < len(fresh):  # another writer stored some since we looked: whose are they
            missing = [r["dedupe_key"] for r in fresh if r["dedupe_key"] not in stored]
            held = stored_identities(conn, missing)
    else:
        count = _insert_ignore(conn, "punches", PUNCH_COLUMNS, "dedupe_key", values)
        new_ids = _last_ids(conn, count) if targets else []
        # Another writer may have stored a key since we looked (counted, not told apart).
        stored = {r["dedupe_key"] for r in fresh} if count == len(fresh) else None
        result.duplicates += len(fresh) - count
        result.inserted += count
    dirty: set[tuple[int, date]] = set()
    for row, i, vals in zip(fresh, fresh_index, values, strict=True):
        if stored is not None and row["dedupe_key"] not in stored:
            found = held.get(row["dedupe_key"])
            if found is not None and found != _identity(row):
                collided.append((row, i))
                continue
            result.outcomes[i] = Outcome.DUPLICATE
            if postgres:
                result.duplicates += 1
            continue
        if vals[EMPLOYEE_ID] is not None:
            dirty.add((vals[EMPLOYEE_ID], row["local_date"]))
    if postgres:
        result.inserted += len(new_ids)
    mark_dirty(conn, dirty)
    if targets and new_ids:
        emit_punches(conn, targets, new_ids, now=now)


MAX_REKEYS = 3  # each round is a fresh 63-bit hash: a fourth collision is never expected


def _store_collided(
    conn: Connection,
    collided: list[tuple[PunchRow, int]],
    result: IngestResult,
    now: datetime,
    round_: int,
) -> None:
    """Store punches whose key a different punch holds under their next key (docs/store.md)."""
    if round_ >= MAX_REKEYS:
        items = []
        for row, i in collided:
            reason = f"dedupe key collision after {MAX_REKEYS} re-keys"
            result.outcomes[i] = Outcome.QUARANTINED
            result.reasons[i] = reason
            result.quarantined += 1
            text = json.dumps({k: v for k, v in row.items()}, default=str)
            items.append(
                QuarantineItem(
                    SourceKind(row["source_kind"]),
                    reason=reason,
                    raw=text,
                    device_code=row["device_code"],
                    reference=row["source_ref"],
                )
            )
        _store_quarantine(conn, items, now, QuarantineLimits())
        return
    rows = [{**row, "dedupe_key": rekey(row["dedupe_key"], _identity(row))} for row, _ in collided]
    _store_punches(conn, rows, [i for _, i in collided], result, now, round_ + 1)  # type: ignore[arg-type]


def _identity(row: PunchRow) -> tuple[str | None, ...]:
    return key_identity(row["employee_code"], row["source_kind"], row["source_ref"])


def _last_ids(conn: Connection, count: int) -> PunchIds:
    """SQLite: the id range of the `count` rows just inserted.

    This transaction has held SQLite's one write lock since its first write, and a new
    rowid is always the largest plus one, so the rows it inserted hold the top `count` ids.
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT max(id) FROM punches")
        top = int(cursor.fetchone()[0] or 0)
    finally:
        cursor.close()
    return range(top - count + 1, top + 1)


EMPLOYEE_ID = PUNCH_COLUMNS.index("employee_id")


def _punch_values(row: PunchRow, emp: int | None, received: Any, dialect: str) -> tuple[Any, ...]:
    flags = row["flags"] if emp is not None else row["flags"] | UNKNOWN_EMPLOYEE
    return (
        row["dedupe_key"],
        row["employee_code"],
        db_time(row["occurred_at"], dialect),
        row["tz"],
        db_date(row["local_date"], dialect),
        row["source_kind"],
        row["device_code"],
        row["verify"],
        row["state"],
        row["lat"],
        row["lon"],
        row["accuracy_m"],
        row["site_code"],
        row["distance_m"],
        row["geo_decision"],
        int(flags),
        row["source_ref"],
        row["voids_punch_id"],
        row["note"],
        row["raw"],
        emp,
        received,
    )


def _copy_insert(conn: Connection, values: list[tuple[Any, ...]]) -> dict[int, int]:
    """PostgreSQL: COPY into a session temp table, then one INSERT … ON CONFLICT DO NOTHING.

    COPY is several times faster than executemany, and RETURNING tells exactly which
    keys this call stored, even with other writers racing on the same keys.
    """
    cols = ", ".join(PUNCH_COLUMNS)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS ingest_punches ON COMMIT DELETE ROWS AS "
            f"SELECT {cols} FROM punches WITH NO DATA"
        )
        cursor.execute("TRUNCATE ingest_punches")
        with cursor.copy(f"COPY ingest_punches ({cols}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO punches ({cols}) SELECT {cols} FROM ingest_punches"
            f" ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key, id"
        )
        return {key: pid for key, pid in cursor.fetchall()}
    finally:
        cursor.close()


def _store_quarantine(
    conn: Connection, items: list[QuarantineItem], now: datetime, limits: QuarantineLimits
) -> None:
    received = db_time(now, conn.dialect.name)
    bounded = flood.plan(conn, items, limits=limits, now=now)
    rows = [_quarantine_values(q, received, summary_of_window=False) for q in bounded.rows]
    # Keyed by dedupe key: one batch repeating an input stores it once.
    _insert_ignore(conn, "quarantine", QUARANTINE_COLUMNS, "dedupe_key", list(dict(rows).values()))
    for q in bounded.overflow:
        _add_to_overflow(conn, _quarantine_values(q, received, summary_of_window=True)[1])


def _quarantine_values(
    q: QuarantineItem, received: Any, *, summary_of_window: bool
) -> tuple[str, tuple[Any, ...]]:
    raw = text_safe(q.raw[:MAX_RAW_CHARS]) or ""
    origin = flood.origin_of(q)
    # A window's overflow row is one per origin and window, whatever its text.
    basis = (
        f"{q.source_kind}|overflow|{origin}|{q.reference}"
        if summary_of_window
        else f"{q.source_kind}|{q.device_code}|{q.reference}|{raw}"
    )
    key = hashlib.blake2b(basis.encode("utf-8", "replace"), digest_size=16).hexdigest()
    size = q.raw_size
    if size is None and len(q.raw) > MAX_RAW_CHARS:
        size = len(q.raw.encode("utf-8", "replace"))
    return key, (
        key,
        received,
        q.source_kind.value,
        text_safe(q.device_code),
        text_safe((q.reference or "")[:300]) or None,
        text_safe(q.reason),
        raw,
        "open",
        None if q.attempt is None else json.dumps(q.attempt),
        text_safe(origin[:300]) if origin else None,
        q.count,
        size,
    )


def _add_to_overflow(conn: Connection, values: tuple[Any, ...]) -> None:
    """Store a window's overflow row, or add this delivery's count and text to it."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cols = ", ".join(QUARANTINE_COLUMNS)
    sql = (
        f"INSERT INTO quarantine ({cols}) VALUES ({', '.join([mark] * len(QUARANTINE_COLUMNS))})"
        " ON CONFLICT (dedupe_key) DO UPDATE SET"
        " input_count = quarantine.input_count + excluded.input_count,"
        " raw_size = COALESCE(quarantine.raw_size, 0) + COALESCE(excluded.raw_size, 0),"
        f" raw = substr(quarantine.raw || excluded.raw, 1, {MAX_RAW_CHARS})"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, values)
    finally:
        cursor.close()


def _quarantine_item(raw: RawPunch, reason: str) -> QuarantineItem:
    text = raw.raw
    if text is None:
        text = (
            f"employee_code={raw.employee_code!r} timestamp={raw.timestamp!r} tz={raw.tz!r} "
            f"state={raw.state!r} verify={raw.verify!r}"
        )
    return QuarantineItem(
        source_kind=raw.source_kind,
        reason=reason,
        raw=text,
        device_code=raw.device_code,
        reference=raw.source_ref,
        attempt=raw_to_json(raw),
    )


def _insert_ignore(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    conflict: str,
    values: list[tuple[Any, ...]],
) -> int:
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        f" ON CONFLICT ({conflict}) DO NOTHING"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, values)
        count = cursor.rowcount
    finally:
        cursor.close()
    return int(count) if count is not None and count >= 0 else len(values)


def stored_identities(conn: Connection, keys: list[int]) -> dict[int, tuple[str | None, ...]]:
    """The identity (`key_identity`) of the stored punch holding each of `keys` that is held."""
    select = "SELECT dedupe_key, employee_code, source_kind, source_ref FROM punches"
    return {
        key: key_identity(code, kind, ref)
        for key, code, kind, ref in _lookup(conn, select, "dedupe_key", keys, "::bigint[]")
    }


def employee_ids(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    """Map employee codes to ids for the codes that name an employee."""
    rows = _lookup(conn, "SELECT code, id FROM employees", "code", list(codes))
    return {code: emp for code, emp in rows}


def _lookup(
    conn: Connection, select: str, column: str, keys: Sequence[object], pg_array: str = ""
) -> list[Any]:
    """Rows of `select` whose `column` is one of `keys`, using the column's index."""
    if not keys:
        return []
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            # One array parameter: a prepared IN (...) list gets a generic plan that
            # scans the whole table once the driver auto-prepares it.
            cursor.execute(f"{select} WHERE {column} = ANY(%s{pg_array})", (keys,))
            return list(cursor.fetchall())
        out: list[Any] = []
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            cursor.execute(f"{select} WHERE {column} IN ({', '.join('?' * len(chunk))})", chunk)
            out.extend(cursor.fetchall())
        return out
    finally:
        cursor.close()


def mark_dirty(conn: Connection, days: Iterable[tuple[int, date]]) -> None:
    """Mark employee-days for recomputation: a new mark, or a new version of the one there."""
    # Sorted: markers lock in one order, so two ingests cannot deadlock on each other's marks.
    keys = sorted(set(days))
    if not keys:
        return
    # DO UPDATE locks the mark until we commit (DO NOTHING took no lock): see collector.days.dirty.
    upsert = " ON CONFLICT (employee_id, local_date) DO UPDATE SET version = dirty_days.version + 1"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            # One statement per batch; ORDER BY keeps the lock order.
            cursor.execute(
                "INSERT INTO dirty_days (employee_id, local_date)"
                " SELECT * FROM unnest(%s::bigint[], %s::date[]) AS k (e, d) ORDER BY e, d"
                + upsert,
                ([emp for emp, _ in keys], [day for _, day in keys]),
            )
        else:
            stored: dict[date, str] = {}  # a few distinct dates behind many marks
            for _, day in keys:
                if day not in stored:
                    stored[day] = db_date(day, "sqlite")
            cursor.executemany(
                "INSERT INTO dirty_days (employee_id, local_date) VALUES (?, ?)" + upsert,
                [(emp, stored[day]) for emp, day in keys],
            )
    finally:
        cursor.close()


def link_employee(conn: Connection, employee_id: int, codes: Iterable[str]) -> int:
    """Attach punches stored under `codes` before the employee existed; mark their days."""
    dialect = conn.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    unknown = int(PunchFlag.UNKNOWN_EMPLOYEE)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    linked = 0
    days: set[tuple[int, date]] = set()
    try:
        for code in codes:
            cursor.execute(
                f"SELECT DISTINCT local_date FROM punches"
                f" WHERE employee_code = {mark} AND employee_id IS NULL",
                (code,),
            )
            for (day,) in cursor.fetchall():
                days.add((employee_id, day if isinstance(day, date) else date.fromisoformat(day)))
            cursor.execute(
                f"UPDATE punches SET employee_id = {mark}, flags = flags & ~{unknown}"
                f" WHERE employee_code = {mark} AND employee_id IS NULL",
                (employee_id, code),
            )
            linked += max(cursor.rowcount, 0)
    finally:
        cursor.close()
    mark_dirty(conn, days)
    return linked
