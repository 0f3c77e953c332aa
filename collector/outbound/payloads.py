"""The `data` of each event, built from the rows the change writes (schemas in docs/webhooks/)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from collector.days.context import as_date, as_utc
from collector.outbound.events import Event, EventType, envelope
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


PUNCH_FIELDS = (
    "id",
    "employee_code",
    "employee_id",
    "occurred_at",
    "tz",
    "local_date",
    "state",
    "source_kind",
    "device_code",
    "verify",
    "lat",
    "lon",
    "accuracy_m",
    "site_code",
    "flags",
    "voids_punch_id",
    "note",
    "received_at",
)


def punch_body(p: dict[str, Any]) -> str:
    """The body of punch.created (punch.voided for a void record) from a stored punch."""
    at = as_utc(p["occurred_at"])
    assert at is not None
    data: dict[str, Any] = {  # times as datetimes: the envelope's orjson writes them
        "punch_id": p["id"],
        "employee_code": p["employee_code"],
        "employee_id": p["employee_id"],
        "occurred_at": at,
        "local_time": at.astimezone(_zone(p["tz"])),
        "timezone": p["tz"],
        "local_date": as_date(p["local_date"]),
        "state": p["state"],
        "source": p["source_kind"],
        "device_code": p["device_code"],
        "verify": p["verify"],
        "latitude": p["lat"],
        "longitude": p["lon"],
        "accuracy_m": p["accuracy_m"],
        "site_code": p["site_code"],
        "flags": list(_flag_names(p["flags"] or 0)),
    }
    kind = EventType.PUNCH_CREATED
    if p["voids_punch_id"] is not None:
        kind = EventType.PUNCH_VOIDED
        data["voids_punch_id"] = p["voids_punch_id"]
        data["note"] = p["note"]
    return envelope(kind, as_utc(p["received_at"]) or at, data)


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


def period_event(
    calendar: str, period_id: int, start: date, end: date, employees: int, carried: int
) -> Event:
    """period.closed: a pay period's figures are frozen and its payroll can be exported."""
    data = {
        "calendar": calendar,
        "period_id": period_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "employees": employees,
        "adjustments_carried": carried,
        "payroll": f"/periods/{period_id}/payroll",
    }
    return Event(EventType.PERIOD_CLOSED, data, calendar)
