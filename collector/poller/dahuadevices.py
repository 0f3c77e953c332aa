"""Dahua access controllers as the poller sees them: their configuration rows, loaded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from collector.poller.httpdevices import HTTPDevice
from collector.poller.terminals import load_devices
from collector.sealing import SecretBox
from collector.settings import Settings
from devices.dahua.client import PAGE_SIZE, DahuaTarget

KIND = "dahua"


@dataclass(frozen=True)
class DahuaDevice(HTTPDevice):
    """One controller's connection and normalisation settings (password kept out of repr)."""

    def target(self, settings: Settings) -> DahuaTarget:
        """The client's view of this controller."""
        return DahuaTarget(
            **self.connection(settings, PAGE_SIZE),
            local_times=bool(self.options.get("local_times", False)),
        )

    @property
    def live(self) -> bool:
        """Hold the controller's event stream and read at each event (off by default)."""
        return bool(self.options.get("live", False))

    @property
    def door_direction(self) -> bool:
        """Entry/Exit readers say in or out when no attendance state was pressed."""
        return bool(self.options.get("door_direction", False))


def load_dahua_devices(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[DahuaDevice]:
    """Enabled Dahua controllers from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, KIND, DahuaDevice.from_row, codes, box=box)
