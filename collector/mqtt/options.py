"""Connection options for the MQTT consumer, read from settings (the password never logged)."""

from __future__ import annotations

import re
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
    # MQTT 5 shared subscription group: each message goes to one member (docs/fleet.md).
    share_group: str | None = None

    def subscriptions(self) -> list[str]:
        """The filters to subscribe to, as members of the share group when there is one."""
        filters = self.topics.subscriptions()
        if self.share_group is None:
            return filters
        return [f"$share/{self.share_group}/{f}" for f in filters]

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


def options_from_settings(
    settings: Settings, *, url: str | None = None, node_id: str | None = None
) -> MqttOptions:
    """MQTT options from settings; `url` overrides the configured broker (embedded broker).

    In a share group every member needs a session of its own: the client id gains the
    node id (set PUNCHGATE_NODE_ID to a stable name so a restart resumes the session).
    """
    raw = (
        url
        if url is not None
        else settings.mqtt_url.get_secret_value()
        if settings.mqtt_url
        else ""
    )
    if not raw:
        raise MqttConfigError("no MQTT broker URL configured")
    client_id = settings.mqtt_client_id
    group = settings.mqtt_share_group
    if group is not None and node_id:
        client_id = f"{client_id}-{re.sub(r'[^A-Za-z0-9_.-]', '-', node_id)}"[:120]
    return MqttOptions(
        **parse_url(raw),  # type: ignore[arg-type]
        tls_ca=settings.mqtt_tls_ca,
        tls_insecure=settings.mqtt_tls_insecure,
        protocol=settings.mqtt_protocol,
        client_id=client_id,
        session_expiry_s=settings.mqtt_session_expiry_s,
        topics=topics_of(settings),
        owntracks_identity=settings.mqtt_owntracks_identity,
        batch_size=settings.mqtt_batch_size,
        batch_wait_s=settings.mqtt_batch_wait_ms / 1000,
        receipt_qos=settings.mqtt_receipt_qos,
        ingest_process=settings.mqtt_ingest_process,
        share_group=group,
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
