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

from sqlalchemy import select, update

from collector.poller.hikdevices import KIND, HikDevice
from collector.poller.hiksync import hik_batch
from collector.poller.terminals import seen
from collector.push.terminals import BadToken, UnknownTerminal
from collector.runtime import Store
from collector.store.ingest import QuarantineItem, ingest
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
            if batch:
                outcome = f"{result.inserted} stored"
            else:
                outcome = next(iter(ignored), f"{note.event_type}: nothing to store")
        conn.execute(update(Device).where(Device.code == code).values(**seen(now)))
    return outcome


def _is_ip(host: str | None) -> bool:
    # A host name cannot be compared with the caller's address; the token guards those.
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True
