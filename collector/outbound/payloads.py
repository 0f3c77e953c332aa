"""The `data` of each event, built from the rows the change writes (schemas in docs/webhooks/)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from collector.normalize import PunchRow
from collector.outbound.events import Event, EventType
from rules.vocabulary import PunchFlag


def iso_utc(value: datetime | None) -> str | None:
    """An aware time as RFC 3339 UTC with a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=1024)  # bounded: a handful of flag combinations occur
def _flag_names(flags: int) -> tuple[str, ...]:
    return tuple(PunchFlag.names_of(flags))


@lru_cache(maxsize=256)  # bounded: one per zone in use
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def punch_event(row: PunchRow, punch_id: int, employee_id: int | None, flags: int) -> Event:
    """punch.created, or punch.voided for a void record, from a stored punch row."""
    at: datetime = row["occurred_at"]
    data: dict[str, Any] = {
        "punch_id": punch_id,
        "employee_code": row["employee_code"],
        "employee_id": employee_id,
        "occurred_at": iso_utc(at),
        "local_time": at.astimezone(_zone(row["tz"])).isoformat(),
        "timezone": row["tz"],
        "local_date": row["local_date"].isoformat(),
        "state": row["state"],
        "source": row["source_kind"],
        "device_code": row["device_code"],
        "verify": row["verify"],
        "latitude": row["lat"],
        "longitude": row["lon"],
        "accuracy_m": row["accuracy_m"],
        "site_code": row["site_code"],
        "flags": list(_flag_names(flags)),
    }
    kind = EventType.PUNCH_CREATED
    if row["voids_punch_id"] is not None:
        kind = EventType.PUNCH_VOIDED
        data["voids_punch_id"] = row["voids_punch_id"]
        data["note"] = row["note"]
    return Event(kind, data, row["employee_code"])


def day_event(
    employee_code: str, employee_id: int, day: date, figures: dict[str, Any], *, revised: bool
) -> Event:
    """day.finalized: a day that is no longer provisional, or a final day whose figures changed."""
    data = {
        "employee_code": employee_code,
        "employee_id": employee_id,
        "local_date": day.isoformat(),
    }
    data.update(figures)
    data["revised"] = revised
    return Event(EventType.DAY_FINALIZED, data, employee_code)


def device_event(code: str, status: str, previous: str, error: str | None, at: datetime) -> Event:
    """device.online or device.offline when a terminal's status changes."""
    kind = EventType.DEVICE_ONLINE if status == "online" else EventType.DEVICE_OFFLINE
    data = {
        "device_code": code,
        "status": status,
        "previous_status": previous,
        "error": error,
        "at": iso_utc(at),
    }
    return Event(kind, data, code)
