"""One sync of one terminal: identity, clock, new log records, all committed together."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from collector.metrics import BAD_INPUT
from collector.normalize import RawPunch, to_utc, zone
from collector.poller.punches import zk_punch
from collector.poller.terminals import Terminal, mark_status, read_sync_state, seen
from collector.runtime import Store, utcnow
from collector.store.ingest import QuarantineItem, ingest
from collector.store.models import Device
from devices.types import BadRecord, DevicePunch
from devices.zk.driver import LogCursor, LogRead, Progress, ZKSession
from devices.zk.records import Parsed
from rules.vocabulary import PunchFlag, SourceKind


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync did."""

    device: str
    transport: str
    read: int  # records read that were not read before
    inserted: int
    duplicates: int
    quarantined: int
    total: int  # records on the terminal
    reason: str  # first read, incremental, log cleared, log rolled over…
    clock_skew_s: float
    clock_flagged: bool
    clock_set: bool
    cleared: bool
    ignored: int = 0  # events that are not punches (doors, failed verifications…)
    ignored_reasons: dict[str, int] = field(default_factory=dict)  # reason → count

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for `punchgate sync --json`)."""
        return asdict(self)


def to_batch(
    items: Sequence[DevicePunch | BadRecord], terminal: Terminal, flags: int
) -> list[RawPunch | QuarantineItem]:
    """Device records as ingest input; unreadable records go to quarantine with their bytes."""
    out: list[RawPunch | QuarantineItem] = []
    append = out.append
    code, tz, mode = terminal.code, terminal.timezone, terminal.direction_mode
    for item in items:
        if type(item) is BadRecord:
            raw = item.raw.hex() if isinstance(item.raw, bytes) else item.raw
            append(
                QuarantineItem(
                    SourceKind.TERMINAL,
                    reason=f"{item.reason} (log record {item.position})",
                    raw=raw,
                    device_code=code,
                    reference="zk attendance record",
                )
            )
            continue
        assert type(item) is DevicePunch
        append(zk_punch(item, code, tz, mode, flags))
    return out


class LogReader:
    """A terminal's new log records read on a thread of their own, a chunk at a time.

    Iterating gives the parsed chunks as they arrive and ends by raising the reader's error,
    if it had one; `done()` then gives the finished read (cursor and counts). Leaving the
    `with` block stops a read still going and waits for the thread.
    """

    def __init__(self, session: ZKSession, cursor: LogCursor | None, progress: Progress | None):
        self.records = 0
        self._chunks: queue.Queue[list[Parsed] | None] = queue.Queue(maxsize=16)
        self._stop = threading.Event()
        self._read: LogRead | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(session, cursor, progress), name="zk-log-reader", daemon=True
        )

    def __enter__(self) -> LogReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # the reader stops at its next chunk
        while self._thread.is_alive():  # and may wait for room in the queue meanwhile
            with contextlib.suppress(queue.Empty):
                self._chunks.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[list[Parsed]]:
        while (part := self._chunks.get()) is not None:
            self.records += len(part)
            yield part
        if self._error is not None:
            raise self._error

    def done(self) -> LogRead:
        """The finished read (after iterating to its end)."""
        assert self._read is not None, "the log was not read to its end"
        return self._read

    def _run(self, session: ZKSession, cursor: LogCursor | None, progress: Progress | None) -> None:
        try:
            self._read = session.read_log(cursor, progress, sink=self._put)
        except BaseException as exc:  # handed to the iterating thread, raised there
            self._error = exc
        finally:
            self._chunks.put(None)

    def _put(self, part: list[Parsed]) -> None:
        if self._stop.is_set():
            raise _Stopped
        self._chunks.put(part)


class _Stopped(Exception):
    """The sync stopped reading (its ingest failed)."""


def measure_clock(session: ZKSession, terminal: Terminal) -> tuple[datetime, float]:
    """The terminal's clock in UTC and its skew in seconds (positive: terminal is ahead)."""
    before = utcnow()
    clock = session.clock()
    after = utcnow()
    device_utc, _ = to_utc(clock, zone(terminal.timezone))
    return device_utc, (device_utc - (before + (after - before) / 2)).total_seconds()


def sync_terminal(
    store: Store,
    terminal: Terminal,
    session: ZKSession,
    *,
    full_info: bool = True,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Read what is new on the terminal and store it with the new sync state in one commit."""
    settings = store.settings
    info = session.info() if full_info else session.sizes()
    device_utc, skew = measure_clock(session, terminal)
    skewed = abs(skew) > settings.zk_clock_skew_threshold_s
    clock_set = False
    if skewed and terminal.set_clock:
        session.set_clock(
            datetime.now(UTC).astimezone(zone(terminal.timezone)).replace(tzinfo=None)
        )
        clock_set = True
    cursor = LogCursor.from_dict(read_sync_state(store.engine, terminal.code))
    # Plain int flags: IntFlag arithmetic per punch would cost more than the rest of normalise.
    flags = int(PunchFlag.CLOCK_SKEW) if skewed else 0
    now = utcnow()
    with store.engine.begin() as conn, LogReader(session, cursor, progress) as reader:
        # The ingest normalises each chunk while the terminal sends the next; it writes (and
        # takes the store's write lock) only once the whole read is in.
        batch = (p for part in reader for p in to_batch(part, terminal, flags))
        result = ingest(conn, batch, now=now, policy=store.policy)
        read = reader.done()
        conn.execute(
            update(Device)
            .where(Device.code == terminal.code)
            .values(
                sync_state=read.cursor.as_dict(),
                last_sync_at=now,
                reported_until=device_utc,
                record_count=read.total,
                record_capacity=info.record_capacity,
                user_count=info.users,
                clock_skew_s=skew,
                **seen(now),
            )
        )
    if result.quarantined:
        BAD_INPUT.inc(result.quarantined, source=SourceKind.TERMINAL.value)
    if full_info:
        mark_status(
            store.engine,
            terminal.code,
            firmware=info.firmware,
            platform=info.platform,
            serial=info.serial,
        )
    cleared = False
    if terminal.clear_after_sync and read.total and session.clear_log_if_count(read.total):
        cleared = True
        empty = LogCursor(read.cursor.record_size, 0)
        mark_status(store.engine, terminal.code, sync_state=empty.as_dict(), record_count=0)
    return SyncOutcome(
        device=terminal.code,
        transport=session.transport or "",
        read=reader.records,
        inserted=result.inserted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
        total=read.total,
        reason=read.reason,
        clock_skew_s=round(skew, 3),
        clock_flagged=skewed,
        clock_set=clock_set,
        cleared=cleared,
    )
