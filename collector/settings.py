"""The one Settings class, read from PUNCHGATE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    """Service settings; every field can be set as PUNCHGATE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PUNCHGATE_", extra="ignore")

    # Where punches are kept; a SQLite file by default, PostgreSQL in production.
    database_url: str = "sqlite:///punchgate.sqlite3"
    # TOML file declaring sites, devices, employees and policies; applied at start.
    config: Path | None = None
    # Zone for naive times that come with no device or site zone of their own.
    default_timezone: str = "UTC"
    # A punch later than the receiving clock by more than this is flagged.
    future_tolerance_s: int = Field(default=300, ge=0)
    # Years outside this range are taken for a reset device clock and flagged.
    plausible_year_min: int = 2001
    plausible_years_ahead: int = 1
    # Where the API listens.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # MQTT broker URL (mqtt://user:pass@host:port); empty = start an embedded broker.
    mqtt_url: SecretStr | None = None
    # MQTT protocol version towards the broker: "5" or "3.1.1" (the embedded broker needs 3.1.1).
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    # Stable client id: the broker keeps this consumer's session and queue under it.
    mqtt_client_id: str = "punchgate-collector"
    # How long the broker keeps the session (and queues punches) while we are away.
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    # CA file for mqtts:// brokers (system CAs when empty); skipping verification is for tests.
    mqtt_tls_ca: Path | None = None
    mqtt_tls_insecure: bool = False
    # Topic roots; tests give each run its own so a shared broker keeps them apart.
    mqtt_topic_root: str = "punchgate/v1"
    mqtt_owntracks_root: str = "owntracks"
    # Which Employee.identities key names an OwnTracks user.
    mqtt_owntracks_identity: str = "owntracks"
    # Most punches committed per transaction, and how long to wait for more before
    # committing (0: commit what has arrived; batches still grow under load).
    mqtt_batch_size: int = Field(default=1000, ge=1)
    mqtt_batch_wait_ms: int = Field(default=0, ge=0)
    # QoS of receipts to phones. 0 by default: a phone that misses one re-sends its punch
    # (QoS 1) and hears "duplicate", so nothing depends on the receipt arriving; QoS 1 costs
    # the collector a PUBACK round trip per receipt (~40 % of its ingest rate).
    mqtt_receipt_qos: Literal[0, 1] = 0
    # Port of the embedded broker started when mqtt_url is empty.
    mqtt_embedded_port: int = Field(default=1883, ge=0, le=65535)
    # Phone fixes: travel faster than this is flagged; delivered later than late_after is
    # flagged LATE_DELIVERY; older than max_age is rejected.
    mobile_max_speed_kmh: float = Field(default=300.0, gt=0)
    mobile_late_after_s: int = Field(default=900, ge=0)
    mobile_max_age_s: int = Field(default=35 * 24 * 3600, ge=0)
    # Log lines as JSON objects instead of text.
    json_logs: bool = False
    log_level: str = "INFO"

    def database_url_safe(self) -> str:
        """The database URL with any password masked, for printing."""
        return safe_url(self.database_url)


def safe_url(url: str) -> str:
    """Mask the password in a URL so it can be shown or logged."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: mask whatever sits between ':' and '@'
        head, sep, tail = url.rpartition("@")
        if not sep:
            return url
        scheme, _, creds = head.partition("://")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{tail}"


def get_settings() -> Settings:
    """Read settings from the environment (tests pass their own instead)."""
    return Settings()
