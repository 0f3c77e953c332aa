"""Devices: terminals, push terminals and phone gateways; the comm key is write-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import InvalidInput
from collector.masterdata.common import apply, fetch, flush, site_id
from collector.normalize import NormalizeError, zone
from collector.sealing import SecretBox
from collector.store.models import Device, Site


def list_devices(session: Session) -> list[Device]:
    """All devices by code."""
    return list(session.scalars(select(Device).order_by(Device.code)))


def create_device(session: Session, *, values: dict[str, Any], box: SecretBox) -> Device:
    """Add a device; its zone defaults to its site's; the comm key is stored sealed."""
    device = Device(options={}, sync_state={})
    _set(session, device, values, box)
    session.add(device)
    flush(session, f"device {values.get('code')!r}")
    return device


def update_device(
    session: Session, *, device_id: int, values: dict[str, Any], box: SecretBox
) -> Device:
    """Change the device fields given in `values` (comm_key None clears it)."""
    device = fetch(session, Device, device_id, "device")
    _set(session, device, values, box)
    flush(session, f"device {device.code!r}")
    return device


def delete_device(session: Session, *, device_id: int) -> None:
    """Remove a device; its punches keep their device code."""
    device = fetch(session, Device, device_id, "device")
    session.delete(device)
    flush(session, f"device {device.code!r}")


def _set(session: Session, device: Device, values: dict[str, Any], box: SecretBox) -> None:
    values = dict(values)
    if "comm_key" in values:
        values["comm_key_secret"] = box.reseal(device.comm_key_secret, values.pop("comm_key"))
    if "site" in values:
        values["site_id"] = site_id(session, values.pop("site"))
    if values.get("timezone") is not None:
        try:
            zone(values["timezone"])
        except NormalizeError as exc:
            raise InvalidInput(str(exc), field="timezone") from exc
    elif "timezone" in values or device.timezone is None:
        values.pop("timezone", None)
        sid = values.get("site_id", device.site_id)
        site = session.get(Site, sid) if sid is not None else None
        values["timezone"] = site.timezone if site is not None else "UTC"
    apply(device, values)
