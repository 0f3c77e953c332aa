"""Hikvision terminals that push: one posted notification stored with the device's status.

A `hik` device is told by its `httpHosts` setting to post to `/hik/<device code>`. The
request must come from the device's configured address (when `host` is an IP address) and,
when the device has a `push_token` option, carry it (`?token=`). A passed authentication
becomes a punch through the one ingest; door and other events are acknowledged and not
stored; a notification that cannot be read is quarantined. Everything commits in one
transaction before the answer, so a terminal that gets no 200 posts again, and the ingest
keeps that harmless.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from datetime import datetime

from sqlalchemy import or_, select, update

from collector.normalize import NormalizeError, RawPunch, to_utc, zone
from collector.poller.hikdevices import KIND, HikDevice
from collector.poller.hiksync import hik_batch
from collector.poller.terminals import seen
from collector.push.terminals import BadToken, UnknownTerminal
from collector.runtime import Store
from collector.store.ingest import IngestResult, Outcome, QuarantineItem, ingest
from collector.store.models import Device
from devices.hikvision.notify import NotificationError, parse_notification
from rules.vocabulary import DirectionMode, SourceKind


def receive_hik(
    store: Store,
    *,
    code: str,
    token: str | None,
    client_host: str | None,
    body: bytes,
    content_type: str,
    now: datetime,
) -> str:
    """Store one notification from device `code`; returns what was done, for the log."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(Device.host, Device.options, Device.timezone, Device.direction_mode).where(
                Device.code == code, Device.kind == KIND, Device.enabled.is_(True)
            )
        ).first()
        if row is None:
            raise UnknownTerminal(f"unknown hik device {code}")
        expected = (row.options or {}).get("push_token")
        if expected and not (token and hmac.compare_digest(str(expected), token)):
            raise BadToken("token missing or wrong")
        if _is_ip(row.host) and row.host != client_host:
            raise BadToken(f"notification from {client_host}, not the device's address")
        device = HikDevice(
            code=code,
            host=row.host or "",
            timezone=row.timezone or "UTC",
            direction_mode=DirectionMode(row.direction_mode or "auto"),
        )
        try:
            note = parse_notification(body, content_type)
        except NotificationError as exc:
            bad = QuarantineItem(
                SourceKind.PUSH,
                reason=str(exc),
                raw=body[:4000].decode("utf-8", "replace"),
                device_code=code,
                reference="hikvision notification",
            )
            ingest(conn, [bad], now=now, policy=store.policy)
            outcome = "quarantined"
        else:
            ignored: Counter[str] = Counter()
            events = [note.event] if note.event is not None else []
            batch = hik_batch(events, device, 0, ignored, source=SourceKind.PUSH)
            result = ingest(conn, batch, now=now, policy=store.policy)
            until = _delivered_until(
                batch, result, device.timezone, now + store.policy.future_tolerance
            )
            if until is not None:  # how far the terminal has delivered: holds days provisional
                conn.execute(
                    update(Device)
                    .where(
                        Device.code == code,
                        or_(Device.reported_until.is_(None), Device.reported_until < until),
                    )
                    .values(reported_until=until)
                )
            if batch:
                outcome = f"{result.inserted} stored"
            else:
                outcome = next(iter(ignored), f"{note.event_type}: nothing to store")
        conn.execute(update(Device).where(Device.code == code).values(**seen(now)))
    return outcome


def _delivered_until(
    batch: list[RawPunch | QuarantineItem], result: IngestResult, tz_name: str, limit: datetime
) -> datetime | None:
    """The latest stored punch time no later than `limit` (a clock far ahead closes nothing)."""
    try:
        tz = zone(tz_name)
    except NormalizeError:
        return None
    times = [
        to_utc(p.timestamp, tz)[0] if p.timestamp.tzinfo is None else p.timestamp
        for p, outcome in zip(batch, result.outcomes, strict=True)
        if isinstance(p, RawPunch) and outcome is not Outcome.QUARANTINED
    ]
    return max((t for t in times if t <= limit), default=None)


def _is_ip(host: str | None) -> bool:
    # A host name cannot be compared with the caller's address; the token guards those.
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True
