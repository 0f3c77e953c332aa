"""The one Settings class, read from PUNCHGATE_* environment variables."""

from __future__ import annotations

from pathlib import Path

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
    # Addresses or networks (CIDR) that may read /metrics without an admin key.
    metrics_allowed_ips: list[str] = Field(default_factory=list)
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
