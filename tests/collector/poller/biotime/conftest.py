"""An emulated BioTime server declared as `biotime` devices, for the BioTime poller tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector.poller.biotimedevices import load_biotime_devices
from collector.poller.device import TerminalPoller
from collector.runtime import Store
from devices.biotime.emulator import BioTimeEmulator, BioTimeServer
from tests.collector.poller.conftest import declare_http_device

SN_SHANGHAI, SN_BERLIN = "CQZ7231360001", "CQZ7231360002"


@pytest.fixture
def biotime_server() -> Iterator[tuple[BioTimeServer, BioTimeEmulator]]:
    """A BioTime server with a terminal in Shanghai and one in Berlin."""
    server = BioTimeServer(password="bt-pass")
    server.add_terminal(SN_SHANGHAI, timezone="Asia/Shanghai")
    server.add_terminal(SN_BERLIN, timezone="Europe/Berlin")
    with BioTimeEmulator(server) as emulator:
        yield server, emulator


@pytest.fixture
def biotime(
    zk_store, now, biotime_server: tuple[BioTimeServer, BioTimeEmulator]
) -> Callable[..., BioTimeServer]:
    """Declare a `biotime` device reading the emulated server."""
    server, emulator = biotime_server

    def add(
        code: str,
        *,
        timezone: str = "UTC",
        password: str = "bt-pass",
        options: dict[str, Any] | None = None,
    ) -> BioTimeServer:
        declare_http_device(
            zk_store,
            now,
            "biotime",
            code,
            emulator.port,
            timezone=timezone,
            password=password,
            options=options,
        )
        return server

    return add


def biotime_poller(store: Store, code: str) -> TerminalPoller:
    """A poller for a configured biotime device."""
    (device,) = load_biotime_devices(store.engine, [code], box=store.box)
    return TerminalPoller(store, device)


def punches_expected(server: BioTimeServer, sn: str | None = None) -> int:
    """Distinct (person, terminal wall clock, terminal) punches on the server."""
    return len(
        {
            (t["emp_code"], t["punch_time"], t["terminal_sn"])
            for t in server.transactions
            if sn is None or t["terminal_sn"] == sn
        }
    )
