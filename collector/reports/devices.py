"""Device health: every terminal with its live status, clock skew and storage fill."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from collector.reports.common import Report, utc
from collector.store.models import Device, Punch

COLUMNS = (
    "device_code",
    "name",
    "kind",
    "enabled",
    "status",
    "online",
    "last_seen_at",
    "seconds_since_seen",
    "clock_skew_s",
    "record_count",
    "record_capacity",
    "fill_ratio",
    "user_count",
    "firmware",
    "last_error",
    "punches_24h",
)


def device_health(conn: Connection, *, now: datetime) -> Report:
    """One row per device by code; punches_24h counts what it delivered in the last day."""
    recent = (
        select(Punch.device_code.label("code"), func.count().label("n"))
        .where(Punch.occurred_at >= now - timedelta(days=1), Punch.device_code.is_not(None))
        .group_by(Punch.device_code)
        .subquery()
    )
    query = (
        select(
            Device.code,
            Device.name,
            Device.kind,
            Device.enabled,
            Device.status,
            Device.last_seen_at,
            Device.clock_skew_s,
            Device.record_count,
            Device.record_capacity,
            Device.user_count,
            Device.firmware,
            Device.last_error,
            recent.c.n,
        )
        .outerjoin(recent, recent.c.code == Device.code)
        .order_by(Device.code)
    )
    return Report(
        name="device-health",
        columns=COLUMNS,
        rows=_shape(conn.execute(query), now),
        meta={"at": now.isoformat()},
    )


def _shape(rows: Any, now: datetime) -> Iterator[tuple[Any, ...]]:
    for code, name, kind, enabled, status, seen, skew, count, cap, users, fw, err, n in rows:
        seen = utc(seen)
        yield (
            code,
            name,
            kind,
            bool(enabled),
            status,
            status == "online",
            seen,
            None if seen is None else round((now - seen).total_seconds()),
            skew,
            count,
            cap,
            round(count / cap, 4) if count is not None and cap else None,
            users,
            fw,
            err,
            int(n or 0),
        )
