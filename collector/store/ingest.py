"""The one idempotent ingest every source uses: normalise, dedupe, store, mark days dirty.

The hot path talks to the DB-API cursor with `executemany` over pre-built tuples: the ORM
would spend more time per row than the database does. Idempotency comes from the
unique `dedupe_key` and `INSERT … ON CONFLICT DO NOTHING` on both backends.
"""

from __future__ import annotations

import enum
import hashlib
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg.errors
from sqlalchemy import Connection, Engine

from collector.normalize import (
    PUNCH_ROW_COLUMNS,
    NormalizeError,
    NormalizePolicy,
    Normalizer,
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
from collector.store.coltypes import sqlite_time
from collector.store.flood import MAX_RAW_CHARS
from rules.vocabulary import PunchFlag, SourceKind

PUNCH_COLUMNS = (*PUNCH_ROW_COLUMNS, "employee_id", "received_at")
# A punch on its way to the store: its values in PUNCH_COLUMNS order, times and dates as
# the backend's driver takes them; completed in place (employee, flags) before the insert.
Row = list[Any]
KEY = PUNCH_COLUMNS.index("dedupe_key")
CODE = PUNCH_COLUMNS.index("employee_code")
OCCURRED_AT = PUNCH_COLUMNS.index("occurred_at")
LOCAL_DATE = PUNCH_COLUMNS.index("local_date")
KIND = PUNCH_COLUMNS.index("source_kind")
FLAGS = PUNCH_COLUMNS.index("flags")
REF = PUNCH_COLUMNS.index("source_ref")
DEVICE = PUNCH_COLUMNS.index("device_code")
EMPLOYEE_ID = PUNCH_COLUMNS.index("employee_id")
# Columns a terminal's punch leaves NULL (a phone's fix and fence, a reference, a correction,
# a note, a raw record). SQLite takes such punches half again as fast through a statement
# that leaves these out (NULL by default): Python's sqlite3 looks for an adapter for every
# None it binds (docs/store.md).
SPARSE = (
    "lat",
    "lon",
    "accuracy_m",
    "site_code",
    "distance_m",
    "geo_decision",
    "source_ref",
    "voids_punch_id",
    "note",
    "raw",
)
_SPARSE_AT = tuple(PUNCH_COLUMNS.index(c) for c in SPARSE)
DENSE_COLUMNS = tuple(c for c in PUNCH_COLUMNS if c not in SPARSE)
_sparse_of = operator.itemgetter(*_SPARSE_AT)
_dense_of = operator.itemgetter(*(PUNCH_COLUMNS.index(c) for c in DENSE_COLUMNS))
_ALL_NULL = (None,) * len(SPARSE)
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
    values = Normalizer(now=now, policy=policy).values
    dialect = conn.dialect.name
    sqlite = dialect == "sqlite"
    tail = (None, db_time(now, dialect))  # employee_id (found later), received_at
    rows: list[Row] = []
    row_index: list[int] = []
    bad: list[tuple[int, QuarantineItem]] = []
    count = 0
    for i, item in enumerate(batch):
        count = i + 1
        if isinstance(item, QuarantineItem):
            bad.append((i, item))
            continue
        try:
            row = values(item)
        except NormalizeError as exc:
            bad.append((i, _quarantine_item(item, str(exc))))
            continue
        if sqlite:  # the text SQLAlchemy's SQLite DateTime and Date write (coltypes)
            row[OCCURRED_AT] = sqlite_time(row[OCCURRED_AT])
            row[LOCAL_DATE] = row[LOCAL_DATE].isoformat()
        row.extend(tail)
        rows.append(row)
        row_index.append(i)
    result.outcomes = [Outcome.INSERTED] * count
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
    rows: list[Row],
    row_index: list[int],
    result: IngestResult,
    now: datetime,
    round_: int = 0,
) -> None:
    # Within-batch repeats are duplicates before the database is asked. A different punch
    # with a key already in this batch waits for the next round, which asks who holds it;
    # one whose key a different stored punch holds (a collision) goes round re-keyed.
    keys = [row[KEY] for row in rows]
    waiting: list[tuple[Row, int]] = []
    collided: list[tuple[Row, int]] = []
    if len(set(keys)) == len(keys):  # the common case: no repeats, nothing to sort out
        fresh, fresh_index = rows, row_index
    else:
        seen: dict[int, Row] = {}
        fresh, fresh_index = [], []
        for row, i in zip(rows, row_index, strict=True):
            first = seen.get(row[KEY])
            if first is None:
                seen[row[KEY]] = row
                fresh.append(row)
                fresh_index.append(i)
            elif _identity(first) == _identity(row):
                result.outcomes[i] = Outcome.DUPLICATE
                result.duplicates += 1
            else:
                waiting.append((row, i))
        keys = list(seen)
    # Skip keys already stored, so a re-ingest writes nothing at all: one probe of the key
    # index, near its end (keys follow the wall clock), and who holds each key, for collisions.
    # Keys all above the largest stored (live punches, in time order) cannot be held: one
    # read of the index's last entry instead. A writer racing us is met after the insert.
    top = _max_key(conn)
    existing = stored_identities(conn, keys) if top is not None and min(keys) <= top else {}
    if existing:
        keep: list[int] = []
        for k, (row, i) in enumerate(zip(fresh, fresh_index, strict=True)):
            held = existing.get(row[KEY])
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


def _max_key(conn: Connection) -> int | None:
    """The largest stored dedupe key (the unique index's last entry), None when none is."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT max(dedupe_key) FROM punches")
        top = cursor.fetchone()[0]
    finally:
        cursor.close()
    return None if top is None else int(top)


def _insert_punches(
    conn: Connection,
    fresh: list[Row],
    fresh_index: list[int],
    result: IngestResult,
    now: datetime,
    collided: list[tuple[Row, int]],
) -> None:
    postgres = conn.dialect.name == "postgresql"
    employees = employee_ids(conn, {row[CODE] for row in fresh})
    # Rows completed in place: a row sent round again (re-keyed) gets the same values.
    dirty: set[tuple[int, Any]] = set()
    find = employees.get
    for row in fresh:
        emp = find(row[CODE])
        if emp is None:
            row[FLAGS] |= UNKNOWN_EMPLOYEE
        else:
            row[EMPLOYEE_ID] = emp
            dirty.add((emp, row[LOCAL_DATE]))
    targets = subscribers(conn, PUNCH_EVENTS)
    new_ids: PunchIds
    if postgres and not targets and _copy_direct(conn, fresh):
        # Nobody held these keys when we looked, nor did a racing writer take one since.
        new_ids = []
        result.inserted += len(fresh)
    elif postgres:
        ids = _copy_insert(conn, fresh)
        new_ids = list(ids.values())
        result.inserted += len(ids)
        if len(ids) < len(fresh):  # another writer stored some since we looked: whose are they
            missing = [row[KEY] for row in fresh if row[KEY] not in ids]
            held = stored_identities(conn, missing)
            dirty = set()
            for row, i in zip(fresh, fresh_index, strict=True):
                if row[KEY] in ids:
                    if row[EMPLOYEE_ID] is not None:
                        dirty.add((row[EMPLOYEE_ID], row[LOCAL_DATE]))
                    continue
                found = held.get(row[KEY])
                if found is not None and found != _identity(row):
                    collided.append((row, i))
                    continue
                result.outcomes[i] = Outcome.DUPLICATE
                result.duplicates += 1
    else:
        count = _insert_sqlite(conn, fresh)
        new_ids = _last_ids(conn, count) if targets else []
        # Another writer may have stored a key since we looked (counted, not told apart;
        # their days are marked as if ours: a recompute too many is harmless).
        result.duplicates += len(fresh) - count
        result.inserted += count
    _mark_stored_days(conn, dirty)
    if targets and new_ids:
        emit_punches(conn, targets, new_ids, now=now)


MAX_REKEYS = 3  # each round is a fresh 63-bit hash: a fourth collision is never expected


def _store_collided(
    conn: Connection,
    collided: list[tuple[Row, int]],
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
            text = json.dumps(dict(zip(PUNCH_ROW_COLUMNS, row, strict=False)), default=str)
            items.append(
                QuarantineItem(
                    SourceKind(row[KIND]),
                    reason=reason,
                    raw=text,
                    device_code=row[DEVICE],
                    reference=row[REF],
                )
            )
        _store_quarantine(conn, items, now, QuarantineLimits())
        return
    rows = []
    for row, _ in collided:
        again = row.copy()
        again[KEY] = rekey(row[KEY], _identity(row))
        rows.append(again)
    _store_punches(conn, rows, [i for _, i in collided], result, now, round_ + 1)


def _identity(row: Row) -> tuple[str | None, ...]:
    return key_identity(row[CODE], row[KIND], row[REF])


def _insert_sqlite(conn: Connection, rows: list[Row]) -> int:
    """SQLite: insert-or-ignore, punches without the sparse columns through a narrower
    statement; how many were inserted."""
    dense: list[tuple[Any, ...]] = []
    full: list[Row] = []
    for row in rows:
        if _sparse_of(row) == _ALL_NULL:
            dense.append(_dense_of(row))
        else:
            full.append(row)
    count = 0
    if dense:
        count += _insert_ignore(conn, "punches", DENSE_COLUMNS, "dedupe_key", dense)
    if full:
        count += _insert_ignore(conn, "punches", PUNCH_COLUMNS, "dedupe_key", full)
    return count


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


def _copy_direct(conn: Connection, values: list[Row]) -> bool:
    """PostgreSQL: COPY straight into punches; False (and nothing written) if a key is held.

    The rows' keys were free when probed, so this is the common case, and it spares the
    temp table's write and the INSERT … SELECT. A writer that stored one of the keys since
    makes the COPY fail on the unique key: undone to the savepoint, the caller takes the
    COPY + INSERT … ON CONFLICT path, which tells whose punch holds it. No ids come back:
    for event subscribers the caller takes that path too.
    """
    cols = ", ".join(PUNCH_COLUMNS)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SAVEPOINT ingest_copy")
        try:
            with cursor.copy(f"COPY punches ({cols}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT ingest_copy")
            return False
        cursor.execute("RELEASE SAVEPOINT ingest_copy")
        return True
    finally:
        cursor.close()


def _copy_insert(conn: Connection, values: list[Row]) -> dict[int, int]:
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
    values: Sequence[Sequence[Any]],
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
    wanted = list(codes)
    if wanted and conn.dialect.name == "postgresql":
        # A join, not = ANY(array): against the varchar column ANY tests each row against
        # the whole array (a batch's 5,000 codes × every employee); the join hashes them.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "SELECT e.code, e.id FROM employees e"
                " JOIN unnest(%s::text[]) AS k (code) ON e.code = k.code",
                (wanted,),
            )
            return {code: emp for code, emp in cursor.fetchall()}
        finally:
            cursor.close()
    rows = _lookup(conn, "SELECT code, id FROM employees", "code", wanted)
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
    dialect = conn.dialect.name
    if dialect != "sqlite":
        _mark_stored_days(conn, days)
        return
    stored: dict[date, str] = {}  # a few distinct dates behind many marks
    marks = set()
    for emp, day in days:
        text = stored.get(day)
        if text is None:
            text = stored[day] = db_date(day, dialect)
        marks.add((emp, text))
    _mark_stored_days(conn, marks)


def _mark_stored_days(conn: Connection, days: Iterable[tuple[int, Any]]) -> None:
    """`mark_dirty` of days given as the driver stores them (ISO text on SQLite)."""
    # Sorted: markers lock in one order, so two ingests cannot deadlock on each other's marks.
    # (ISO text sorts as the dates it names.)
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
            cursor.executemany(
                "INSERT INTO dirty_days (employee_id, local_date) VALUES (?, ?)" + upsert, keys
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
