"""What the HTTP devices (Hikvision, Dahua, BioTime) share as the poller sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self, TypedDict

from collector.poller.terminals import TerminalConfigError, open_secret
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.models import Device
from rules.vocabulary import DirectionMode


class HTTPFields(TypedDict):
    """The connection fields every vendor's client target takes."""

    host: str
    port: int
    username: str
    password: str
    https: bool
    timeout: float
    page_size: int


@dataclass(frozen=True)
class HTTPDevice:
    """One HTTP device's connection and normalisation settings (password kept out of repr)."""

    code: str
    host: str
    port: int = 80
    username: str = "admin"
    timezone: str = "UTC"
    direction_mode: DirectionMode = DirectionMode.AUTO
    options: dict[str, Any] = field(default_factory=dict)
    password: str = field(default="", repr=False)

    def connection(self, settings: Settings, page_size: int) -> HTTPFields:
        """The client target's connection fields; `page_size` is the vendor's default."""
        return HTTPFields(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            https=bool(self.options.get("https", False)),
            timeout=float(self.options.get("timeout_s", max(settings.zk_timeout_s, 10.0))),
            page_size=int(self.options.get("page_size", page_size)),
        )

    def interval(self, settings: Settings) -> float:
        """Seconds between polls."""
        return float(self.options.get("interval_s", settings.zk_poll_interval_s))

    @property
    def live(self) -> bool:
        """Polled, no held session (a vendor that can hold one overrides this)."""
        return False

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Refuse options the vendor cannot use (TerminalConfigError); none by default."""

    @classmethod
    def from_row(cls, device: Device, box: SecretBox | None = None) -> Self:
        """A device from its row: `comm_key` holds the password, `options.username` the user."""
        if not device.host:
            raise TerminalConfigError("no host configured")
        options = dict(device.options or {})
        cls.check_options(options)
        return cls(
            code=device.code,
            host=device.host,
            port=device.port or (443 if options.get("https") else 80),
            username=str(options.get("username", "admin")),
            timezone=device.timezone or "UTC",
            direction_mode=DirectionMode(device.direction_mode or "auto"),
            options=options,
            password=open_secret(box, device.comm_key_secret) or "",
        )
