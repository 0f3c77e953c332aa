"""One sync of one BioTime server (or one terminal behind it): the transactions after the cursor.

The cursor is the highest transaction `id` stored. BioTime gives ids as punches reach the
server, so a terminal that uploads yesterday's punches today gives them ids above the
cursor: reading by id (not by punch time) finds late uploads however old they are. The
pages are walked from the last one back to the one reaching the cursor
(`BioTimeClient.pages_after`), then the new transactions are stored in id order, about a
thousand a transaction with the cursor they reach, so a sync that dies resumes from what
was committed and (with the idempotent ingest) nothing is stored twice.

`punch_time` is the terminal's wall clock: it gets the terminal's zone (the device's
`terminal_zones` option by serial, else the device's zone) in the one normalisation path.
A server whose ids start again below the cursor (a restored or cleared database) is read
again from its first id; the ingest recognises what is already stored.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from collector.normalize import RawPunch
from collector.poller.biotimedevices import BioTimeDevice
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
from devices.biotime.client import BioTimeClient
from devices.biotime.transactions import Transaction, TransactionPage
from devices.types import DeviceInfo
from rules.vocabulary import SourceKind

COMMIT_TRANSACTIONS = 1000  # transactions stored per commit: bounds what a crash re-reads


def biotime_punch(item: Transaction, device: BioTimeDevice) -> RawPunch:
    """A transaction as a raw punch; its wall-clock time is given the terminal's zone."""
    state: int | str | None = item.punch_state
    if isinstance(state, str) and state.isdigit():
        state = int(state)  # ZK codes; one outside 0–5 leaves the direction to pairing
    return RawPunch(
        employee_code=item.emp_code,
        timestamp=item.punch_time,
        source_kind=SourceKind.TERMINAL,
        tz=device.zone_of(item.terminal_sn),
        device_code=device.code,
        verify=item.verify_type,
        state=state,
        direction_mode=device.direction_mode,
        source_ref=f"transaction {item.id} {item.terminal_sn}".strip(),
        raw=json.dumps(item.raw, separators=(",", ":"), ensure_ascii=False)[:4000],
    )


def _read_new(
    client: BioTimeClient, cursor: int, device: BioTimeDevice
) -> tuple[list[Transaction], list[tuple[int | None, QuarantineItem]], bool]:
    """The transactions above the cursor (id order), the unreadable ones, and a restart."""
    items: dict[int, Transaction] = {}
    bad: list[tuple[int | None, QuarantineItem]] = []
    restarted = False
    for number, page in enumerate(client.pages_after(cursor)):
        ids = [i.id for i in page.items] + [int(r["id"]) for _, r in page.bad if _has_id(r)]
        if number == 0 and cursor and ids and max(ids) < cursor:
            restarted = True  # the newest id is below the cursor: ids started again
            break
        _take(page, cursor, items, bad, device)
    if restarted:
        for page in client.pages_after(0):
            _take(page, 0, items, bad, device)
    return [items[k] for k in sorted(items)], bad, restarted


def _has_id(raw: dict[str, Any]) -> bool:
    """Whether an unreadable transaction still has a readable id."""
    return str(raw.get("id", "")).isdigit()


def _take(
    page: TransactionPage,
    cursor: int,
    items: dict[int, Transaction],
    bad: list[tuple[int | None, QuarantineItem]],
    device: BioTimeDevice,
) -> None:
    items.update((i.id, i) for i in page.items if i.id > cursor)
    for reason, raw in page.bad:
        ident = int(raw["id"]) if _has_id(raw) else None
        if ident is not None and ident <= cursor:
            continue  # quarantined by the sync that passed it
        item = QuarantineItem(
            SourceKind.TERMINAL,
            reason=f"unreadable transaction: {reason}",
            raw=json.dumps(raw, ensure_ascii=False)[:4000],
            device_code=device.code,
            reference="biotime transaction",
        )
        bad.append((ident, item))


def sync_biotime(
    store: Store, device: BioTimeDevice, client: BioTimeClient, *, full_info: bool = True
) -> SyncOutcome:
    """Read the transactions above the cursor and store them with the cursor, in id order."""
    sn = client.target.terminal_sn
    info = client.terminal_info(sn) if full_info and sn else None
    state = read_sync_state(store.engine, device.code)
    start_cursor = int(state.get("id", 0))
    fresh, bad, restarted = _read_new(client, start_cursor, device)
    counts: Counter[str] = Counter()
    cursor = 0 if restarted else start_cursor
    every = int(device.options.get("commit_records", COMMIT_TRANSACTIONS))
    batches = [fresh[i : i + every] for i in range(0, len(fresh), every)] or [[]]
    for number, batch in enumerate(batches, start=1):
        pending: list[RawPunch | QuarantineItem] = [biotime_punch(t, device) for t in batch]
        cursor = max([cursor, *(t.id for t in batch)])
        if number == len(batches):
            # The unreadable ones go with the last batch, and the cursor passes them there:
            # a newest transaction that cannot be read is not offered again every poll.
            pending += [q for _, q in bad]
            cursor = max([cursor, *(i for i, _ in bad if i is not None)])
        commit_batch(store, device.code, pending, {"id": cursor}, counts, read=len(batch))
    mark_status(store.engine, device.code, **seen(utcnow()), **_identity(info))
    reason = "incremental" if start_cursor else "first read"
    if restarted:
        reason = "transaction ids started again (database restored or cleared): read again"
    return SyncOutcome(
        device=device.code,
        transport="biotime-api",
        read=counts["read"],
        inserted=counts["inserted"],
        duplicates=counts["duplicates"],
        quarantined=counts["quarantined"],
        total=cursor,
        reason=reason,
        clock_skew_s=0.0,  # the API tells no terminal clock; skew shows in the punches
        clock_flagged=False,
        clock_set=False,
        cleared=False,
    )


def _identity(info: DeviceInfo | None) -> dict[str, Any]:
    out = identity(info)
    if info is None:
        return out
    if info.users is not None:
        out["user_count"] = info.users
    if info.records is not None:
        out["record_count"] = info.records
    return out
