"""Dahua access controllers as the poller sees them: their configuration rows, loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from collector.poller.terminals import TerminalConfigError, load_devices, open_secret
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.models import Device
from devices.dahua.client import PAGE_SIZE, DahuaTarget
from rules.vocabulary import DirectionMode

KIND = "dahua"


@dataclass(frozen=True)
class DahuaDevice:
    """One controller's connection and normalisation settings (password kept out of repr)."""

    code: str
    host: str
    port: int = 80
    username: str = "admin"
    timezone: str = "UTC"
    direction_mode: DirectionMode = DirectionMode.AUTO
    options: dict[str, Any] = field(default_factory=dict)
    password: str = field(default="", repr=False)

    def target(self, settings: Settings) -> DahuaTarget:
        """The client's view of this controller."""
        return DahuaTarget(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            https=bool(self.options.get("https", False)),
            timeout=float(self.options.get("timeout_s", max(settings.zk_timeout_s, 10.0))),
            page_size=int(self.options.get("page_size", PAGE_SIZE)),
            local_times=bool(self.options.get("local_times", False)),
        )

    def interval(self, settings: Settings) -> float:
        """Seconds between polls (between reconciliations when live)."""
        return float(self.options.get("interval_s", settings.zk_poll_interval_s))

    @property
    def live(self) -> bool:
        """Hold the controller's event stream and read at each event (off by default)."""
        return bool(self.options.get("live", False))

    @property
    def door_direction(self) -> bool:
        """Entry/Exit readers say in or out when no attendance state was pressed."""
        return bool(self.options.get("door_direction", False))


def dahua_device_from_row(device: Device, box: SecretBox | None = None) -> DahuaDevice:
    """A DahuaDevice from its row: `comm_key` holds the password, `options.username` the user."""
    if not device.host:
        raise TerminalConfigError("no host configured")
    options = dict(device.options or {})
    return DahuaDevice(
        code=device.code,
        host=device.host,
        port=device.port or (443 if options.get("https") else 80),
        username=str(options.get("username", "admin")),
        timezone=device.timezone or "UTC",
        direction_mode=DirectionMode(device.direction_mode or "auto"),
        options=options,
        password=open_secret(box, device.comm_key_secret) or "",
    )


def load_dahua_devices(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[DahuaDevice]:
    """Enabled Dahua controllers from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, KIND, dahua_device_from_row, codes, box=box)
