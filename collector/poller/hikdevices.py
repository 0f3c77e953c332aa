"""Hikvision terminals as the poller sees them: their configuration rows, loaded and checked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from collector.poller.httpdevices import HTTPDevice
from collector.poller.terminals import load_devices
from collector.sealing import SecretBox
from collector.settings import Settings
from devices.hikvision.client import PAGE_SIZE, ISAPITarget

KIND = "hik"


@dataclass(frozen=True)
class HikDevice(HTTPDevice):
    """One ISAPI terminal's connection and normalisation settings (password kept out of repr)."""

    def target(self, settings: Settings) -> ISAPITarget:
        """The client's view of this terminal."""
        return ISAPITarget(**self.connection(settings, PAGE_SIZE))


def load_hik_devices(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[HikDevice]:
    """Enabled Hikvision terminals from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, KIND, HikDevice.from_row, codes, box=box)
