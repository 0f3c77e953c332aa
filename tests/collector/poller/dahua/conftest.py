"""Emulated Dahua controllers declared as `dahua` devices, for the Dahua poller tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector.poller.dahuadevices import load_dahua_devices
from collector.poller.device import TerminalPoller
from collector.runtime import Store
from devices.dahua.emulator import DahuaController, DahuaEmulator
from devices.dahua.records import PERSON_METHODS
from tests.collector.poller.conftest import declare_http_device


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
        declare_http_device(
            zk_store,
            now,
            "dahua",
            code,
            emulator.port,
            timezone=device_zone or timezone,
            password=password,
            options=options,
        )
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
