"""Devices: terminals, push terminals and phone gateways; the comm key is write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import InvalidInput
from collector.masterdata.common import apply, fetch, flush, site_id
from collector.masterdata.zones import change_device_zone
from collector.normalize import NormalizeError, NormalizePolicy, zone
from collector.sealing import SecretBox
from collector.store.models import Device, Site


def list_devices(session: Session) -> list[Device]:
    """All devices by code."""
    return list(session.scalars(select(Device).order_by(Device.code)))


def create_device(session: Session, *, values: dict[str, Any], box: SecretBox) -> Device:
    """Add a device; its zone defaults to its site's; the comm key is stored sealed."""
    device = Device(options={}, sync_state={})
    values = dict(values)
    device.timezone = _zone(session, device, values)
    _set(session, device, values, box)
    session.add(device)
    flush(session, f"device {values.get('code')!r}")
    return device


def update_device(
    session: Session,
    *,
    device_id: int,
    values: dict[str, Any],
    box: SecretBox,
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
) -> Device:
    """Change the fields given in `values` (comm_key None clears it); a new zone re-times."""
    device = fetch(session, Device, device_id, "device")
    values = dict(values)
    tz = _zone(session, device, values)
    # Before the rest: the punches to re-time carry the device's code as it is now.
    change_device_zone(session, device, tz, actor=actor, now=now, policy=policy)
    _set(session, device, values, box)
    flush(session, f"device {device.code!r}")
    return device


def delete_device(session: Session, *, device_id: int) -> None:
    """Remove a device; its punches keep their device code."""
    device = fetch(session, Device, device_id, "device")
    session.delete(device)
    flush(session, f"device {device.code!r}")


def _zone(session: Session, device: Device, values: dict[str, Any]) -> str:
    """The zone the device is to have (taken out of `values`): given, kept, or its site's."""
    if "timezone" not in values and device.timezone is not None:
        return device.timezone
    tz = values.pop("timezone", None)
    if tz is not None:
        try:
            zone(tz)
        except NormalizeError as exc:
            raise InvalidInput(str(exc), field="timezone") from exc
        return str(tz)
    sid = site_id(session, values["site"]) if "site" in values else device.site_id
    site = session.get(Site, sid) if sid is not None else None
    return site.timezone if site is not None else "UTC"


def _set(session: Session, device: Device, values: dict[str, Any], box: SecretBox) -> None:
    if "comm_key" in values:
        values["comm_key_secret"] = box.reseal(device.comm_key_secret, values.pop("comm_key"))
    if "site" in values:
        values["site_id"] = site_id(session, values.pop("site"))
    apply(device, values)
