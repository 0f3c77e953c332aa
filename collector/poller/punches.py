"""A terminal's record as a `RawPunch`: written once for the central poller and the site agent.

Kept free of the store (no SQLAlchemy), so the site agent on a small box can build exactly
the punches the central poller builds, and the two can never drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from collector.normalize import RawPunch
from devices.hikvision.events import AcsEvent
from devices.types import DevicePunch
from rules.vocabulary import DirectionMode, SourceKind


def zk_punch(item: DevicePunch, code: str, tz: str, mode: DirectionMode, flags: int) -> RawPunch:
    """A ZK log record as read from terminal `code` (naive times in its zone `tz`)."""
    return RawPunch(
        employee_code=item.user_id,
        timestamp=item.timestamp,
        source_kind=SourceKind.TERMINAL,
        tz=tz,
        device_code=code,
        verify=item.verify,
        state=item.state,
        direction_mode=mode,
        flags=flags,
    )


def hik_punch(
    event: AcsEvent,
    code: str,
    tz: str,
    mode: DirectionMode,
    flags: int,
    source: SourceKind = SourceKind.TERMINAL,
) -> RawPunch:
    """A Hikvision punch event (pulled or pushed) from terminal `code`."""
    return RawPunch(
        employee_code=event.employee_no,
        timestamp=event.time,  # aware; a naive one gets the device's zone in normalize
        source_kind=source,
        tz=tz,
        device_code=code,
        verify=event.credential,
        state=event.attendance_status,
        direction_mode=mode,
        flags=flags,
        source_ref=f"serialNo {event.serial}",
        raw=compact_event(event.raw),
    )


def compact_event(raw: dict[str, Any]) -> str:
    """An event's JSON as kept with its punch."""
    # The picture stays on the terminal: its URL is not worth keeping with the punch.
    return json.dumps({k: v for k, v in raw.items() if k != "pictureURL"}, separators=(",", ":"))
