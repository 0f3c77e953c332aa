"""One sync of one Hikvision terminal: identity, clock, and the events after the cursor.

The cursor is the last event `serialNo` read, kept in the device's `sync_state` and moved in
the same transaction as the punches of the pages it covers (about a thousand events a
commit, and whatever was read when the terminal stops answering), so a sync that dies
between pages resumes after the last committed page: nothing is lost and (with the
idempotent ingest) nothing is stored twice. Only passed authentications
(`devices.hikvision.events.PASS_MINORS`) become punches; door and failed-verification
events move the cursor and are counted by reason.

The search asks for `beginSerialNo` = cursor + 1 over all time. A firmware that ignores
`beginSerialNo` shows itself by sending events at or below the cursor; from then on the
window starts an overlap before the last event read, so each poll does not read the whole
log. A serial counter found below the cursor (log cleared, counter restarted) re-reads the
log from its start; the ingest recognises what is already stored. A device with a
`push_url` option has that URL checked in the terminal's `httpHosts` at every poll and set
again when it is missing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collector.normalize import RawPunch
from collector.poller.hikdevices import HikDevice
from collector.poller.paging import read_in_batches
from collector.poller.punches import hik_punch
from collector.poller.sync import SyncOutcome
from collector.poller.terminals import (
    commit_batch,
    identity,
    mark_status,
    read_sync_state,
    seen,
)
from collector.runtime import Store, utcnow
from collector.store.ingest import QuarantineItem
from devices.hikvision.client import ISAPIClient
from devices.hikvision.events import AcsEvent, AcsPage
from rules.vocabulary import PunchFlag, SourceKind

EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - given the terminal's offset before use
OVERLAP = timedelta(days=1)  # window before the last event for firmwares without beginSerialNo
COMMIT_EVENTS = 1000  # events read per commit (a page is 30): bounds what a crash re-reads


def hik_batch(
    events: list[AcsEvent],
    device: HikDevice,
    flags: int,
    ignored: Counter[str],
    *,
    source: SourceKind = SourceKind.TERMINAL,
) -> list[RawPunch | QuarantineItem]:
    """Punch events as raw punches (pulled or pushed); the others counted in `ignored`."""
    out: list[RawPunch | QuarantineItem] = []
    for event in events:
        reason = event.ignore_reason()
        if reason is not None:
            ignored[reason] += 1
            continue
        out.append(
            hik_punch(event, device.code, device.timezone, device.direction_mode, flags, source)
        )
    return out


def _bad_items(page: AcsPage, device: HikDevice) -> list[QuarantineItem]:
    return [
        QuarantineItem(
            SourceKind.TERMINAL,
            reason=f"unreadable event: {reason}",
            raw=json.dumps(item)[:4000],
            device_code=device.code,
            reference="hikvision AcsEvent",
        )
        for reason, item in page.bad
    ]


@dataclass
class _Reader:
    """The paged read of one sync, committing batches of pages with the cursor they reach."""

    store: Store
    device: HikDevice
    client: ISAPIClient
    clock: datetime
    flags: int
    cursor: int
    last_time: str | None
    ignores_begin: bool
    counts: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    total: int = 0
    pending: list[RawPunch | QuarantineItem] = field(default_factory=list)
    pending_read: int = 0

    def read(self) -> None:
        """Search after the cursor; commit every `commit_events` events read and at the end."""
        start = EPOCH.replace(tzinfo=self.clock.tzinfo)
        if self.ignores_begin and self.cursor and self.last_time:
            start = datetime.fromisoformat(self.last_time) - OVERLAP
        end = self.clock + timedelta(days=1)
        every = int(self.device.options.get("commit_events", COMMIT_EVENTS))
        pages = self.client.search(start, end, begin_serial=self.cursor + 1)
        read_in_batches(pages, self._take, self._commit, every)

    def _take(self, page: AcsPage) -> int:
        self.total = max(self.total, page.total)
        fresh = [e for e in page.events if e.serial > self.cursor]
        if len(fresh) < len(page.events):
            self.ignores_begin = True  # the firmware sent what beginSerialNo excluded
        self.pending += hik_batch(fresh, self.device, self.flags, self.ignored)
        self.pending += _bad_items(page, self.device)
        self.pending_read += len(fresh)
        if fresh:
            newest = max(fresh, key=lambda e: e.serial)
            self.cursor, self.last_time = newest.serial, newest.time.isoformat()
        return self.pending_read

    def _commit(self) -> None:
        state = {
            "serial": self.cursor,
            "time": self.last_time,
            "ignores_begin_serial": self.ignores_begin,
        }
        commit_batch(
            self.store, self.device.code, self.pending, state, self.counts, read=self.pending_read
        )
        self.pending, self.pending_read = [], 0


def sync_hik(
    store: Store, device: HikDevice, client: ISAPIClient, *, full_info: bool = True
) -> SyncOutcome:
    """Read the events after the cursor, committing batches of pages with their cursor."""
    info = client.device_info() if full_info else None
    before = utcnow()
    clock = client.clock()
    after = utcnow()
    skew = (clock - (before + (after - before) / 2)).total_seconds()
    skewed = abs(skew) > store.settings.zk_clock_skew_threshold_s
    state = read_sync_state(store.engine, device.code)
    cursor = int(state.get("serial", 0))
    reader = _Reader(
        store,
        device,
        client,
        clock,
        int(PunchFlag.CLOCK_SKEW) if skewed else 0,
        cursor,
        state.get("time") if cursor else None,
        bool(state.get("ignores_begin_serial", False)),
    )
    reason = "incremental" if cursor else "first read"
    push_url = device.options.get("push_url")
    if push_url and str(push_url) not in client.http_hosts():
        # Some firmwares forget their httpHosts on a reboot and stop posting silently.
        client.set_http_host(str(push_url))
        reason += "; push host registered"
    reader.read()
    if reader.cursor == cursor and cursor and _counter_restarted(client, clock, cursor):
        reason = "serial counter restarted or log cleared: read again from the start"
        reader.cursor, reader.last_time = 0, None
        reader.read()
    now = utcnow()
    mark_status(
        store.engine,
        device.code,
        reported_until=clock.astimezone(now.tzinfo),
        clock_skew_s=skew,
        **seen(now),
        **identity(info),
    )
    return SyncOutcome(
        device=device.code,
        transport="isapi",
        read=reader.counts["read"],
        inserted=reader.counts["inserted"],
        duplicates=reader.counts["duplicates"],
        quarantined=reader.counts["quarantined"],
        total=reader.total,
        reason=reason,
        clock_skew_s=round(skew, 3),
        clock_flagged=skewed,
        clock_set=False,
        cleared=False,
        ignored=sum(reader.ignored.values()),
        ignored_reasons=dict(reader.ignored),
    )


def _counter_restarted(client: ISAPIClient, clock: datetime, cursor: int) -> bool:
    """The newest event's serial is below the cursor: the log was cleared or restarted."""
    newest = client.newest_serial(EPOCH.replace(tzinfo=clock.tzinfo), clock + timedelta(days=1))
    return newest is not None and newest < cursor
