"""Emulated Hikvision terminals declared as `hik` devices, for the Hikvision poller tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector.poller.device import TerminalPoller
from collector.poller.hikdevices import load_hik_devices
from collector.runtime import Store
from devices.hikvision.emulator import HikEmulator, HikTerminal
from tests.collector.poller.conftest import declare_http_device


@pytest.fixture
def hik(zk_store, now) -> Iterator[Callable[..., HikTerminal]]:
    """Start an emulated Hikvision terminal and declare it as a `hik` device."""
    running: list[HikEmulator] = []

    def add(
        code: str,
        *,
        events: int = 0,
        timezone: str = "UTC",
        device_zone: str | None = None,
        password: str = "hik12345",
        options: dict[str, Any] | None = None,
        multipart: bool = False,
    ) -> HikTerminal:
        terminal = HikTerminal(timezone=timezone, serial_number=f"SN-{code}")
        if events:
            terminal.fill(events, seed=len(code))
        emulator = HikEmulator(terminal, multipart=multipart)
        emulator.start()
        running.append(emulator)
        declare_http_device(
            zk_store,
            now,
            "hik",
            code,
            emulator.port,
            timezone=device_zone or timezone,
            password=password,
            options=options,
        )
        return terminal

    yield add
    for emulator in running:
        emulator.stop()


def hik_poller(store: Store, code: str) -> TerminalPoller:
    """A poller for a configured hik device."""
    (device,) = load_hik_devices(store.engine, [code], box=store.box)
    return TerminalPoller(store, device)


def punches_expected(terminal: HikTerminal) -> int:
    """Distinct (person, second) passed authentications in the terminal's log."""
    return len(
        {
            (e["employeeNoString"], e["time"])
            for e in terminal.events
            if e["major"] == 5 and e["minor"] in (1, 38, 75) and e.get("employeeNoString")
        }
    )
