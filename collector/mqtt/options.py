"""Connection options for the MQTT consumer, read from settings (the password never logged)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from collector.settings import Settings
from devices.mobile.topics import Topics
from rules.geofence import FixPolicy


class MqttConfigError(ValueError):
    """The broker URL or MQTT settings are unusable."""


@dataclass(frozen=True)
class MqttOptions:
    """Everything the consumer needs to reach the broker and name its topics."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_ca: Path | None = None
    tls_insecure: bool = False
    protocol: str = "5"  # "5" or "3.1.1"
    client_id: str = "punchgate-collector"
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    topics: Topics = field(default_factory=Topics)
    owntracks_identity: str = "owntracks"
    batch_size: int = 1000
    batch_wait_s: float = 0.0
    receipt_qos: int = 0
    ingest_process: bool = True  # decide and store in a child process (see ingestproc)

    @property
    def where(self) -> str:
        """The broker's address for logs (no credentials)."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_url(url: str) -> dict[str, object]:
    """Split mqtt://user:pass@host:port (or mqtts://) into option fields."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise MqttConfigError(f"unsupported MQTT URL scheme {parts.scheme!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise MqttConfigError("MQTT URL has an invalid port") from exc
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "tls": tls,
    }


def options_from_settings(settings: Settings, *, url: str | None = None) -> MqttOptions:
    """MQTT options from settings; `url` overrides the configured broker (embedded broker)."""
    raw = (
        url
        if url is not None
        else settings.mqtt_url.get_secret_value()
        if settings.mqtt_url
        else ""
    )
    if not raw:
        raise MqttConfigError("no MQTT broker URL configured")
    return MqttOptions(
        **parse_url(raw),  # type: ignore[arg-type]
        tls_ca=settings.mqtt_tls_ca,
        tls_insecure=settings.mqtt_tls_insecure,
        protocol=settings.mqtt_protocol,
        client_id=settings.mqtt_client_id,
        session_expiry_s=settings.mqtt_session_expiry_s,
        topics=topics_of(settings),
        owntracks_identity=settings.mqtt_owntracks_identity,
        batch_size=settings.mqtt_batch_size,
        batch_wait_s=settings.mqtt_batch_wait_ms / 1000,
        receipt_qos=settings.mqtt_receipt_qos,
        ingest_process=settings.mqtt_ingest_process,
    )


def fix_policy_of(settings: Settings) -> FixPolicy:
    """The phone fix tolerances the settings give (MQTT and the punch app alike)."""
    return FixPolicy(
        max_speed_kmh=settings.mobile_max_speed_kmh,
        future_tolerance=timedelta(seconds=settings.future_tolerance_s),
        late_after=timedelta(seconds=settings.mobile_late_after_s),
        max_age=timedelta(seconds=settings.mobile_max_age_s),
    )


def topics_of(settings: Settings) -> Topics:
    """The phone topics the settings name."""
    return Topics(settings.mqtt_topic_root, settings.mqtt_owntracks_root)
