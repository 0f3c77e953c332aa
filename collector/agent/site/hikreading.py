"""Reading a Hikvision (ISAPI) terminal into the agent's buffer, as the central poller reads it.

The event search after the cursor (the last `serialNo` read), page by page with
`devices.hikvision.client.ISAPIClient`; every `COMMIT_EVENTS` events the punches and the
cursor they reach commit to the buffer together, so a read that dies between pages resumes
after the last committed one. Events become the `RawPunch`es the central poller builds
(`collector.poller.punches.hik_punch`); events that are not punches move the cursor and are
left out; unreadable ones travel as bad records.

Unlike the central poller, the agent keeps no time window for firmwares that ignore
`beginSerialNo`: such a terminal is searched from its start at each read, and events at or
below the cursor are dropped here. A serial counter found below the cursor (log cleared)
reads the log again from its start; the centre recognises what it already has.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.agent.site.buffer import Buffer
from collector.agent.wire import TerminalConfig
from collector.normalize import raw_to_json
from collector.poller.punches import hik_punch
from devices.errors import DeviceError
from devices.hikvision.client import PAGE_SIZE, ISAPIClient, ISAPITarget
from devices.hikvision.events import AcsEvent, AcsPage
from devices.types import DeviceInfo
from rules.vocabulary import DirectionMode, PunchFlag

EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - given the terminal's offset before use
COMMIT_EVENTS = 1000  # events read per buffer commit: bounds what a crash re-reads


def hik_items(events: list[AcsEvent], terminal: TerminalConfig, flags: int) -> list[dict[str, Any]]:
    """Punch events as batch items, as the poller builds them; other events left out."""
    mode = DirectionMode(terminal.direction_mode or "auto")
    out: list[dict[str, Any]] = []
    for event in events:
        if event.ignore_reason() is not None:
            continue
        punch = hik_punch(event, terminal.code, terminal.timezone, mode, flags)
        out.append({"punch": {k: v for k, v in raw_to_json(punch).items() if v is not None}})
    return out


def bad_items(page: AcsPage, terminal: TerminalConfig) -> list[dict[str, Any]]:
    """A page's unreadable events as bad records."""
    return [
        {
            "bad": {
                "reason": f"unreadable event: {reason}",
                "raw": json.dumps(item)[:4000],
                "device_code": terminal.code,
                "reference": "hikvision AcsEvent",
            }
        }
        for reason, item in page.bad
    ]


def hik_target(terminal: TerminalConfig, timeout_s: float) -> ISAPITarget:
    """The client's view of a configured terminal (the secret is its password)."""
    options = terminal.options
    return ISAPITarget(
        host=terminal.host,
        port=terminal.port,
        username=str(options.get("username", "admin")),
        password=terminal.secret or "",
        https=bool(options.get("https", False)),
        timeout=float(options.get("timeout_s", max(timeout_s, 10.0))),
        page_size=int(options.get("page_size", PAGE_SIZE)),
    )


def read_hik(
    terminal: TerminalConfig,
    buffer: Buffer,
    *,
    timeout_s: float,
    skew_threshold_s: float,
    full_info: bool,
) -> tuple[int, dict[str, Any]]:
    """Read the events after the cursor into the buffer; punches added, and the health."""
    with ISAPIClient(hik_target(terminal, timeout_s)) as client:
        info = client.device_info() if full_info else DeviceInfo()
        before = datetime.now(UTC)
        clock = client.clock()
        after = datetime.now(UTC)
        skew = (clock - (before + (after - before) / 2)).total_seconds()
        flags = int(PunchFlag.CLOCK_SKEW) if abs(skew) > skew_threshold_s else 0
        cursor = int((buffer.cursor(terminal.code) or {}).get("serial", 0))
        added, reached = _search(client, terminal, buffer, cursor, clock, flags)
        if reached == cursor and cursor:
            newest = client.newest_serial(
                EPOCH.replace(tzinfo=clock.tzinfo), clock + timedelta(days=1)
            )
            if newest is not None and newest < cursor:
                added += _search(client, terminal, buffer, 0, clock, flags)[0]
    health: dict[str, Any] = {"clock_skew_s": round(skew, 3)}
    if full_info:
        health |= {"firmware": info.firmware, "platform": info.platform, "serial": info.serial}
    return added, health


def _search(
    client: ISAPIClient,
    terminal: TerminalConfig,
    buffer: Buffer,
    cursor: int,
    clock: datetime,
    flags: int,
) -> tuple[int, int]:
    """One paged search after `cursor`, committed every COMMIT_EVENTS; (added, new cursor)."""
    pending: list[dict[str, Any]] = []
    read = added = 0
    last_time: str | None = None

    def commit() -> None:
        nonlocal pending, read, added
        state = {"serial": cursor, "time": last_time}
        added += buffer.add(terminal.code, pending, state, datetime.now(UTC), count=len(pending))
        pending, read = [], 0

    start = EPOCH.replace(tzinfo=clock.tzinfo)
    try:
        for page in client.search(start, clock + timedelta(days=1), begin_serial=cursor + 1):
            fresh = [e for e in page.events if e.serial > cursor]
            pending += hik_items(fresh, terminal, flags) + bad_items(page, terminal)
            read += len(fresh)
            if fresh:
                newest = max(fresh, key=lambda e: e.serial)
                cursor, last_time = newest.serial, newest.time.isoformat()
            if read >= COMMIT_EVENTS:
                commit()
    except DeviceError:
        commit()
        raise
    commit()
    return added, cursor
