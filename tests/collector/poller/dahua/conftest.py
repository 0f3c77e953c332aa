"""Emulated Dahua controllers declared as `dahua` devices, for the Dahua poller tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector.config import apply_config, parse_config
from collector.poller.dahuadevices import load_dahua_devices
from collector.poller.device import TerminalPoller
from collector.runtime import Store
from devices.dahua.emulator import DahuaController, DahuaEmulator
from devices.dahua.records import PERSON_METHODS


@pytest.fixture
def dahua(zk_store, now) -> Iterator[Callable[..., DahuaController]]:
    """Start an emulated Dahua controller and declare it as a `dahua` device."""
    running: list[DahuaEmulator] = []

    def add(
        code: str,
        *,
        records: int = 0,
        timezone: str = "UTC",
        device_zone: str | None = None,
        password: str = "dahua12345",
        firmware: str = "utc",
        options: dict[str, Any] | None = None,
    ) -> DahuaController:
        controller = DahuaController(
            timezone=timezone,
            serial_number=f"SN-{code}",
            firmware=firmware,  # type: ignore[arg-type]
        )
        if records:
            controller.fill(records, seed=len(code))
        emulator = DahuaEmulator(controller)
        emulator.start()
        running.append(emulator)
        device = {
            "code": code,
            "kind": "dahua",
            "host": "127.0.0.1",
            "port": emulator.port,
            "timezone": device_zone or timezone,
            "comm_key": password,
            "options": {"username": "admin", "timeout_s": 5, **(options or {})},
        }
        with zk_store.sessions.begin() as session:
            apply_config(session, parse_config({"devices": [device]}), now=now, box=zk_store.box)
        return controller

    yield add
    for emulator in running:
        emulator.stop()


def dahua_poller(store: Store, code: str) -> TerminalPoller:
    """A poller for a configured dahua device."""
    (device,) = load_dahua_devices(store.engine, [code], box=store.box)
    return TerminalPoller(store, device)


def punches_expected(controller: DahuaController) -> int:
    """Distinct (person, second) passed records of a person in the controller's log."""
    return len(
        {
            (r["UserID"], r.get("CreateTimeRealUTC", r["CreateTime"]))
            for r in controller.records
            if r["Status"] == 1 and r["Method"] in PERSON_METHODS and r["UserID"]
        }
    )
