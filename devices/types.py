"""Plain values that drivers and parsers hand to the collector."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# Not frozen (read-only by convention): a parser builds one per log record, and a frozen
# dataclass's __init__ costs three times as much (object.__setattr__ per field).
@dataclass(slots=True)
class DevicePunch:
    """One attendance record as a device reported it, before normalisation.

    `timestamp` is naive in the device's own local time for terminals, or aware when
    the source said its offset. `state` and `verify` are the device's raw codes.
    """

    user_id: str
    timestamp: datetime
    state: int | None = None
    verify: int | None = None
    uid: int | None = None
    workcode: int | None = None
    raw: bytes | str | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a terminal says about itself."""

    serial: str | None = None
    platform: str | None = None
    firmware: str | None = None
    device_name: str | None = None
    mac: str | None = None
    users: int | None = None
    records: int | None = None
    record_capacity: int | None = None
    user_capacity: int | None = None
    clock: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record a parser could not read, kept with its raw form and the reason."""

    reason: str
    raw: bytes | str
    position: int | None = None
