"""BioTime servers as the poller sees them: their configuration rows, loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from collector.poller.terminals import TerminalConfigError, load_devices, open_secret
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.models import Device
from devices.biotime.client import PAGE_SIZE, BioTimeTarget
from rules.vocabulary import DirectionMode

KIND = "biotime"


@dataclass(frozen=True)
class BioTimeDevice:
    """One BioTime server (or one terminal behind it): connection and zones (password kept out)."""

    code: str
    host: str
    port: int = 80
    username: str = "admin"
    timezone: str = "UTC"
    direction_mode: DirectionMode = DirectionMode.AUTO
    options: dict[str, Any] = field(default_factory=dict)
    password: str = field(default="", repr=False)

    def target(self, settings: Settings) -> BioTimeTarget:
        """The client's view of this server."""
        sn = self.options.get("terminal_sn")
        return BioTimeTarget(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            https=bool(self.options.get("https", False)),
            timeout=float(self.options.get("timeout_s", max(settings.zk_timeout_s, 10.0))),
            page_size=int(self.options.get("page_size", PAGE_SIZE)),
            terminal_sn=str(sn) if sn else None,
            auth=str(self.options.get("auth", "auto")),
        )

    def interval(self, settings: Settings) -> float:
        """Seconds between polls."""
        return float(self.options.get("interval_s", settings.zk_poll_interval_s))

    @property
    def live(self) -> bool:
        """A server is polled; it holds no live session."""
        return False

    def zone_of(self, terminal_sn: str) -> str:
        """The zone of a terminal's wall clock: `terminal_zones[sn]`, else the device's."""
        zones = self.options.get("terminal_zones") or {}
        return (
            str(zones.get(terminal_sn, self.timezone)) if isinstance(zones, dict) else self.timezone
        )


def biotime_device_from_row(device: Device, box: SecretBox | None = None) -> BioTimeDevice:
    """A BioTimeDevice from its row: `comm_key` holds the password, `options.username` the user."""
    if not device.host:
        raise TerminalConfigError("no host configured")
    options = dict(device.options or {})
    auth = options.get("auth", "auto")
    if auth not in ("auto", "jwt", "token"):
        raise TerminalConfigError(f"auth must be auto, jwt or token, not {auth!r}")
    return BioTimeDevice(
        code=device.code,
        host=device.host,
        port=device.port or (443 if options.get("https") else 80),
        username=str(options.get("username", "admin")),
        timezone=device.timezone or "UTC",
        direction_mode=DirectionMode(device.direction_mode or "auto"),
        options=options,
        password=open_secret(box, device.comm_key_secret) or "",
    )


def load_biotime_devices(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[BioTimeDevice]:
    """Enabled BioTime devices from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, KIND, biotime_device_from_row, codes, box=box)
