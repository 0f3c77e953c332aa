"""One sync of one Dahua access controller: identity, clock, and the records after the cursor.

The cursor is the last `RecNo` read, kept in the device's `sync_state` with the newest
`CreateTime` read, and moved in the same transaction as the punches it covers (about a
thousand records a commit, and whatever was read when the controller stops answering), so
a sync that dies between pages resumes after the last committed page: nothing is lost and
(with the idempotent ingest) nothing is stored twice. Only records of a person passing
(`devices.dahua.records.PERSON_METHODS`, Status 1) become punches; the exit button, remote
unlocks and failed verifications move the cursor and are counted by reason.

The search has no RecNo condition, so each sync asks from a day before the newest
`CreateTime` read (a clock set back a little still finds its records) and keeps the records
after the cursor. A record newer than everything read but at or below the cursor means the
counter started again (log cleared, RecNo rolled over): from there on the records are new,
and the time of that record is kept as a floor below which higher RecNos are the old log's.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC

from collector.normalize import RawPunch, zone
from collector.poller.dahuadevices import DahuaDevice
from collector.poller.paging import read_in_batches
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
from devices.dahua.client import DahuaClient
from devices.dahua.records import CardRecord, RecordPage
from rules.vocabulary import PunchFlag, SourceKind

OVERLAP_S = 86_400  # how far before the newest CreateTime read each sync asks again
COMMIT_RECORDS = 1000  # records read per commit: bounds what a crash re-reads
AHEAD_S = 2 * 86_400  # EndTime past the controller's clock, whatever CreateTime's units


def dahua_punch(record: CardRecord, device: DahuaDevice, flags: int) -> RawPunch | QuarantineItem:
    """A person's record as a raw punch; one without a time the device can place, quarantined."""
    timestamp = record.instant if record.instant is not None else record.wall
    if timestamp is None:  # parse_record always sets one; kept total for the type checker
        return QuarantineItem(
            SourceKind.TERMINAL,
            reason="record without a time",
            raw=_compact(record.raw),
            device_code=device.code,
            reference=f"RecNo {record.rec_no}",
        )
    return RawPunch(
        employee_code=record.user_id,
        timestamp=timestamp,  # aware UTC; naive wall clock gets the device's zone in normalize
        source_kind=SourceKind.TERMINAL,
        tz=device.timezone,
        device_code=device.code,
        verify=record.credential,
        state=record.state_word(door_direction=device.door_direction),
        direction_mode=device.direction_mode,
        flags=flags,
        source_ref=f"RecNo {record.rec_no}",
        raw=_compact(record.raw),
    )


def _compact(raw: dict[str, str]) -> str:
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False)[:4000]


def _bad_items(page: RecordPage, device: DahuaDevice, seen_up_to: int) -> list[QuarantineItem]:
    # A bad record numbered at or below what an earlier sync read was quarantined then: the
    # day of overlap each sync reads again must not offer it again (it would count against
    # the device's bad-input budget every poll).
    return [
        QuarantineItem(
            SourceKind.TERMINAL,
            reason=f"unreadable record: {reason}",
            raw=_compact(fields),
            device_code=device.code,
            reference="dahua AccessControlCardRec",
        )
        for reason, fields in page.bad
        if not fields.get("RecNo", "").isdigit() or int(fields["RecNo"]) > seen_up_to
    ]


@dataclass
class _Reader:
    """The paged read of one sync, committing batches with the cursor they reach."""

    store: Store
    device: DahuaDevice
    client: DahuaClient
    flags: int
    cursor: int
    last_time: int  # newest CreateTime read (the controller's units)
    floor: int | None  # records before this time are the old log's (after a restart)
    restarted: bool = False
    seen_up_to: int = field(init=False)  # the cursor this sync started from
    counts: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    pending: list[RawPunch | QuarantineItem] = field(default_factory=list)
    pending_read: int = 0

    def __post_init__(self) -> None:
        self.seen_up_to = self.cursor

    def read(self, end: int) -> None:
        """Search from a day before the newest time read to `end`, committing as it goes."""
        overlap = int(self.device.options.get("overlap_s", OVERLAP_S))
        start = max(self.last_time - overlap, 1) if self.cursor else 1
        every = int(self.device.options.get("commit_records", COMMIT_RECORDS))
        read_in_batches(self.client.pages(start, end), self._take, self._commit, every)

    def _take(self, page: RecordPage) -> int:
        for record in page.records:
            if not self._is_new(record):
                continue
            self.cursor = record.rec_no
            self.last_time = max(self.last_time, record.create_time)
            self.pending_read += 1
            reason = record.ignore_reason()
            if reason is not None:
                self.ignored[reason] += 1
                continue
            self.pending.append(dahua_punch(record, self.device, self.flags))
        self.pending += _bad_items(page, self.device, 0 if self.restarted else self.seen_up_to)
        if not self.restarted:  # the cursor passes an unreadable newest record too
            numbers = [int(f["RecNo"]) for _, f in page.bad if f.get("RecNo", "").isdigit()]
            self.cursor = max([self.cursor, *numbers])
        return self.pending_read

    def _is_new(self, record: CardRecord) -> bool:
        if record.rec_no > self.cursor:
            return self.floor is None or record.create_time >= self.floor
        if self.cursor and record.create_time > self.last_time:
            # Newer than all read, numbered at or below the cursor: the counter started again.
            self.restarted = True
            self.floor = record.create_time
            return True
        return False

    def _commit(self) -> None:
        state = {"rec_no": self.cursor, "create_time": self.last_time, "floor": self.floor}
        commit_batch(
            self.store, self.device.code, self.pending, state, self.counts, read=self.pending_read
        )
        self.pending, self.pending_read = [], 0


def sync_dahua(
    store: Store, device: DahuaDevice, client: DahuaClient, *, full_info: bool = True
) -> SyncOutcome:
    """Read the records after the cursor, committing batches with their cursor."""
    info = client.device_info() if full_info else None
    before = utcnow()
    wall = client.clock()
    after = utcnow()
    clock = wall.replace(tzinfo=zone(device.timezone))  # the controller shows its zone's time
    skew = (clock - (before + (after - before) / 2)).total_seconds()
    skewed = abs(skew) > store.settings.zk_clock_skew_threshold_s
    state = read_sync_state(store.engine, device.code)
    cursor = int(state.get("rec_no", 0))
    floor = state.get("floor")
    reader = _Reader(
        store,
        device,
        client,
        int(PunchFlag.CLOCK_SKEW) if skewed else 0,
        cursor,
        int(state.get("create_time", 0)),
        int(floor) if floor is not None else None,
    )
    # EndTime: past the controller's clock whether CreateTime holds UTC or its wall clock.
    reader.read(int(wall.replace(tzinfo=UTC).timestamp()) + AHEAD_S)
    reason = "incremental" if cursor else "first read"
    if reader.restarted:
        reason = "record counter restarted or rolled over: read on from the restart"
    now = utcnow()
    mark_status(
        store.engine,
        device.code,
        reported_until=clock.astimezone(UTC),
        clock_skew_s=skew,
        **seen(now),
        **identity(info),
    )
    return SyncOutcome(
        device=device.code,
        transport="cgi",
        read=reader.counts["read"],
        inserted=reader.counts["inserted"],
        duplicates=reader.counts["duplicates"],
        quarantined=reader.counts["quarantined"],
        total=reader.cursor,
        reason=reason,
        clock_skew_s=round(skew, 3),
        clock_flagged=skewed,
        clock_set=False,
        cleared=False,
        ignored=sum(reader.ignored.values()),
        ignored_reasons=dict(reader.ignored),
    )
