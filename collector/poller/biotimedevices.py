"""BioTime servers as the poller sees them: their configuration rows, loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from collector.poller.httpdevices import HTTPDevice
from collector.poller.terminals import TerminalConfigError, load_devices
from collector.sealing import SecretBox
from collector.settings import Settings
from devices.biotime.client import PAGE_SIZE, BioTimeTarget

KIND = "biotime"


@dataclass(frozen=True)
class BioTimeDevice(HTTPDevice):
    """One BioTime server (or one terminal behind it): connection and zones (password kept out)."""

    def target(self, settings: Settings) -> BioTimeTarget:
        """The client's view of this server."""
        sn = self.options.get("terminal_sn")
        return BioTimeTarget(
            **self.connection(settings, PAGE_SIZE),
            terminal_sn=str(sn) if sn else None,
            auth=str(self.options.get("auth", "auto")),
        )

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """`auth` names a login BioTime offers."""
        auth = options.get("auth", "auto")
        if auth not in ("auto", "jwt", "token"):
            raise TerminalConfigError(f"auth must be auto, jwt or token, not {auth!r}")

    def zone_of(self, terminal_sn: str) -> str:
        """The zone of a terminal's wall clock: `terminal_zones[sn]`, else the device's."""
        zones = self.options.get("terminal_zones") or {}
        return (
            str(zones.get(terminal_sn, self.timezone)) if isinstance(zones, dict) else self.timezone
        )


def load_biotime_devices(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[BioTimeDevice]:
    """Enabled BioTime devices from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, KIND, BioTimeDevice.from_row, codes, box=box)
