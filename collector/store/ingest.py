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
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from collector.normalize import (
    NormalizeError,
    NormalizePolicy,
    PunchRow,
    RawPunch,
    normalize,
    raw_to_json,
)
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
)
LOOKUP_CHUNK = 900  # keeps IN (...) lists under every backend's parameter limit
MAX_RAW_CHARS = 65536  # quarantined raw input is kept up to this size


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


@dataclass(slots=True)
class IngestResult:
    """Counts of one ingest call, and each item's outcome in input order."""

    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)  # input index → quarantine reason

    def merge(self, other: IngestResult) -> None:
        """Add another result's counts to this one (outcomes are not merged)."""
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined


def ingest(
    conn: Connection,
    batch: Iterable[RawPunch | QuarantineItem],
    *,
    now: datetime,
    policy: NormalizePolicy,
) -> IngestResult:
    """Store a batch inside the caller's transaction; safe to repeat with the same input."""
    result = IngestResult()
    rows: list[PunchRow] = []
    row_index: list[int] = []
    bad: list[tuple[int, QuarantineItem]] = []
    for i, item in enumerate(batch):
        result.outcomes.append(Outcome.INSERTED)
        if isinstance(item, QuarantineItem):
            bad.append((i, item))
            continue
        try:
            rows.append(normalize(item, now=now, policy=policy))
            row_index.append(i)
        except NormalizeError as exc:
            bad.append((i, _quarantine_item(item, str(exc))))
    for i, q in bad:
        result.outcomes[i] = Outcome.QUARANTINED
        result.reasons[i] = q.reason
    result.quarantined = len(bad)
    if bad:
        _store_quarantine(conn, [q for _, q in bad], now)
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
) -> None:
    # Within-batch repeats and keys already stored are duplicates before any insert.
    keys = [r["dedupe_key"] for r in rows]
    existing = _existing(conn, "punches", "dedupe_key", list(set(keys)))
    seen: set[str] = set()
    fresh: list[PunchRow] = []
    for row, i in zip(rows, row_index, strict=True):
        key = row["dedupe_key"]
        if key in existing or key in seen:
            result.outcomes[i] = Outcome.DUPLICATE
            result.duplicates += 1
            continue
        seen.add(key)
        fresh.append(row)
    if not fresh:
        return
    employees = employee_ids(conn, {r["employee_code"] for r in fresh})
    dialect = conn.dialect.name
    values: list[tuple[Any, ...]] = []
    dirty: set[tuple[int, date]] = set()
    received = db_time(now, dialect)
    for row in fresh:
        emp = employees.get(row["employee_code"])
        flags = row["flags"]
        if emp is None:
            flags |= PunchFlag.UNKNOWN_EMPLOYEE
        else:
            dirty.add((emp, row["local_date"]))
        values.append(
            (
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
        )
    inserted = _insert_ignore(conn, "punches", PUNCH_COLUMNS, "dedupe_key", values)
    # Another writer may have stored some keys since we looked: those count as duplicates.
    result.inserted += inserted
    result.duplicates += len(fresh) - inserted
    mark_dirty(conn, dirty)


def _store_quarantine(conn: Connection, items: list[QuarantineItem], now: datetime) -> None:
    received = db_time(now, conn.dialect.name)
    values: dict[str, tuple[Any, ...]] = {}
    for q in items:
        raw = q.raw[:MAX_RAW_CHARS]
        basis = f"{q.source_kind}|{q.device_code}|{q.reference}|{raw}"
        key = hashlib.blake2b(basis.encode("utf-8", "replace"), digest_size=16).hexdigest()
        values[key] = (
            key,
            received,
            q.source_kind.value,
            q.device_code,
            (q.reference or "")[:300] or None,
            q.reason,
            raw,
            "open",
            None if q.attempt is None else json.dumps(q.attempt),
        )
    _insert_ignore(conn, "quarantine", QUARANTINE_COLUMNS, "dedupe_key", list(values.values()))


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


def _existing(conn: Connection, table: str, column: str, keys: list[str]) -> set[str]:
    found: set[str] = set()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk)
            found.update(r[0] for r in cursor.fetchall())
    finally:
        cursor.close()
    return found


def employee_ids(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    """Map employee codes to ids for the codes that name an employee."""
    wanted = list(codes)
    out: dict[str, int] = {}
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cursor.execute(f"SELECT code, id FROM employees WHERE code IN ({marks})", chunk)
            out.update((code, emp) for code, emp in cursor.fetchall())
    finally:
        cursor.close()
    return out


def mark_dirty(conn: Connection, days: Iterable[tuple[int, date]]) -> None:
    """Mark employee-days for recomputation (idempotent)."""
    dialect = conn.dialect.name
    values = [(emp, db_date(day, dialect)) for emp, day in days]
    if values:
        _insert_ignore(
            conn, "dirty_days", ("employee_id", "local_date"), "employee_id, local_date", values
        )


def db_time(value: datetime, dialect: str) -> Any:
    """An aware datetime as naive UTC the way `dialect`'s DB-API and SQLAlchemy store it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    naive = value.astimezone(UTC).replace(tzinfo=None)
    if dialect == "sqlite":  # the same text SQLAlchemy's SQLite DateTime writes
        return naive.isoformat(sep=" ", timespec="microseconds")
    return naive


def db_date(value: date, dialect: str) -> Any:
    """A date as the DB-API of `dialect` wants it."""
    return value.isoformat() if dialect == "sqlite" else value


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
