"""Devices with their live status; the comm key can be set but is never returned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.auth import AdminKey, HrKey
from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.masterdata import DeviceCreate, DevicePublic, DeviceUpdate
from collector.masterdata import devices
from collector.masterdata.common import fetch
from collector.runtime import utcnow
from collector.store.models import Device

router = APIRouter(prefix="/devices", tags=["master data"], responses=PROBLEM_RESPONSES)


# Options that are credentials (a Hikvision terminal's push token): write-only, like comm keys.
SECRET_OPTIONS = ("push_token",)
SHOWN = "(set)"


def _public(device: Device) -> DevicePublic:
    data = {
        name: getattr(device, name) for name in DevicePublic.model_fields if name != "has_comm_key"
    }
    options = dict(device.options or {})
    for name in SECRET_OPTIONS:
        if name in options:
            options[name] = SHOWN
    data["options"] = options
    return DevicePublic(has_comm_key=bool(device.comm_key_secret), **data)


def _values(body: DeviceCreate | DeviceUpdate, *, partial: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=partial)
    if "comm_key" in values:
        key = body.comm_key
        values["comm_key"] = key.get_secret_value() if key is not None else None
    return values


@router.get("")
def list_devices(_: HrKey, session: SessionDep) -> list[DevicePublic]:
    """All devices."""
    return [_public(d) for d in devices.list_devices(session)]


@router.get("/{device_id}")
def get_device(device_id: RowId, _: HrKey, session: SessionDep) -> DevicePublic:
    """One device."""
    return _public(fetch(session, Device, device_id, "device"))


@router.post("", status_code=201)
def create_device(body: DeviceCreate, _: AdminKey, store: StoreDep, session: TxDep) -> DevicePublic:
    """Add a device."""
    values = _values(body, partial=False)
    return _public(devices.create_device(session, values=values, box=store.box))


@router.patch("/{device_id}")
def update_device(
    device_id: RowId, body: DeviceUpdate, key: AdminKey, store: StoreDep, session: TxDep
) -> DevicePublic:
    """Change a device; a new zone re-times its stored terminal and push punches (audited)."""
    values = _values(body, partial=True)
    options = values.get("options")
    if isinstance(options, dict):
        # Options read back from GET carry "(set)" for a secret: that keeps the stored one.
        stored = fetch(session, Device, device_id, "device").options or {}
        for name in SECRET_OPTIONS:
            if options.get(name) == SHOWN and name in stored:
                options[name] = stored[name]
    device = devices.update_device(
        session,
        device_id=device_id,
        values=values,
        box=store.box,
        actor=key.actor,
        now=utcnow(),
        policy=store.policy,
    )
    return _public(device)


@router.delete("/{device_id}", status_code=204)
def delete_device(device_id: RowId, _: AdminKey, session: TxDep) -> Response:
    """Remove a device (its punches stay)."""
    devices.delete_device(session, device_id=device_id)
    return Response(status_code=204)
