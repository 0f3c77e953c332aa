"""The one Settings class, read from PUNCHGATE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service settings; every field can be set as PUNCHGATE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PUNCHGATE_", extra="ignore")

    # Where punches are kept; a SQLite file by default, PostgreSQL in production.
    database_url: str = "sqlite:///punchgate.sqlite3"
    # TOML file declaring sites, devices, employees and policies; applied at start.
    config: Path | None = None
    # Payroll export profiles (JSON) besides the shipped ones; a same-named file replaces one.
    payroll_profiles_dir: Path | None = None
    # Connections kept open to the database. Above the pool size, extra connections are
    # opened and closed per use (a new PostgreSQL backend each time): size it to the
    # API's concurrent requests plus the collector's workers.
    db_pool_size: int = Field(default=20, ge=1, le=500)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    # Zone for naive times that come with no device or site zone of their own.
    default_timezone: str = "UTC"
    # A punch later than the receiving clock by more than this is flagged.
    future_tolerance_s: int = Field(default=300, ge=0)
    # Years outside this range are taken for a reset device clock and flagged.
    plausible_year_min: int = 2001
    plausible_years_ahead: int = 1
    # Fernet key sealing stored terminal comm keys / push tokens (required with PostgreSQL;
    # generate with `punchgate secrets generate-key`). Unset with a SQLite file: a key file
    # is created beside the database. See collector/sealing.py.
    secret_key: SecretStr | None = None
    # A file holding that key instead (created, mode 0600, if missing).
    secret_key_file: Path | None = None
    # Largest HR API request body in bytes (413 above it; /iclock has its own limit).
    api_max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Requests per second one API key may make, and the burst it may save up (429 above).
    # High enough for a report integration paging at 100/s; it stops runaway clients.
    api_rate_per_s: float = Field(default=200.0, gt=0)
    api_rate_burst: int = Field(default=400, ge=1)
    # Where the API listens.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # A web page session ends after this many seconds without a request, and this many
    # seconds after sign-in whatever the activity (enforced by the server, not the cookie).
    ui_session_idle_s: int = Field(default=3600, ge=120)
    ui_session_max_s: int = Field(default=12 * 3600, ge=120)
    # MQTT broker URL (mqtt://user:pass@host:port); empty = start an embedded broker.
    mqtt_url: SecretStr | None = None
    # Days after which a phone punch's exact coordinates are replaced by its decision.
    location_retention_days: int = Field(default=90, ge=1)
    # Days a dismissed quarantine item is kept after its dismissal, then deleted.
    quarantine_dismissed_retention_days: int = Field(default=90, ge=1)
    # Push terminals (/iclock): what to do with a serial number no device row names —
    # "refuse" it, or hold it as "pending" approval (a disabled device row; nothing stored
    # and no OK sent until approved, so the terminal keeps its records meanwhile).
    push_unknown_serials: Literal["refuse", "pending"] = "refuse"
    # Largest /iclock request body accepted, in bytes (a 500-line ATTLOG batch is ~30 KB).
    push_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Requests per second one terminal may make, and the burst it may save up.
    push_rate_per_s: float = Field(default=50.0, gt=0)
    push_rate_burst: int = Field(default=200, ge=1)
    # A push terminal silent this many seconds is shown offline (it polls every few seconds).
    push_offline_after_s: int = Field(default=120, ge=10)
    # Seconds a handed-out command may go unanswered before it is handed out again.
    push_command_resend_s: int = Field(default=120, ge=1)
    # How often the attendance-days worker consumes dirty days (seconds).
    days_interval_s: float = Field(default=5.0, gt=0)
    # Outbox delivery (webhooks and connectors): sends in flight at once per process, most
    # messages claimed per round trip, how long a claimed message is reserved (a process
    # killed mid-send leaves it to others after this), the retry window before giving up,
    # one request's timeout, and the idle wait between looks at the outbox.
    outbox_enabled: bool = True
    outbox_concurrency: int = Field(default=16, ge=1, le=256)
    outbox_batch: int = Field(default=200, ge=1, le=5000)
    outbox_lease_s: float = Field(default=60.0, gt=0)
    outbox_retry_window_s: float = Field(default=3 * 24 * 3600.0, gt=0)
    outbox_timeout_s: float = Field(default=10.0, gt=0)
    outbox_poll_s: float = Field(default=0.5, gt=0)
    # Days a delivered or skipped outbox message (and its delivery log) is kept, then deleted;
    # failed and rejected messages stay until HR replays them (they are still to act on).
    outbox_retention_days: int = Field(default=30, ge=1)
    # How many recent days the "close the day" pass keeps checking for absences.
    days_lookback: int = Field(default=7, ge=1)
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
    # Decide and store phone messages in a child process, so that paho's network thread
    # and the database work run on two cores instead of taking turns under the GIL (about
    # twice the ingest rate). False keeps everything in the consumer's process.
    mqtt_ingest_process: bool = True
    # Port of the embedded broker started when mqtt_url is empty.
    mqtt_embedded_port: int = Field(default=1883, ge=0, le=65535)
    # Phone fixes: travel faster than this is flagged; delivered later than late_after is
    # flagged LATE_DELIVERY; older than max_age is rejected.
    mobile_max_speed_kmh: float = Field(default=300.0, gt=0)
    mobile_late_after_s: int = Field(default=900, ge=0)
    mobile_max_age_s: int = Field(default=35 * 24 * 3600, ge=0)
    # Quarantine against floods of bad input from terminals, push terminals and phones: one
    # upload (or batch of phone messages) keeps this many bad inputs from one device or phone
    # as rows of their own, and the rest of it as one row with their count and raw text;
    quarantine_max_per_upload: int = Field(default=50, ge=1)
    # one device or phone adds at most this many such rows per window, the rest of the
    # window going into one row per device or phone that counts them and keeps their text.
    quarantine_max_per_origin: int = Field(default=1000, ge=1)
    quarantine_window_s: int = Field(default=3600, ge=60)
    # How long an enrolment link for the punch app stays usable (it binds one phone, once).
    app_enrolment_ttl_s: int = Field(default=15 * 60, ge=60, le=7 * 24 * 3600)
    # Addresses or networks (CIDR) that may read /metrics without an admin key.
    metrics_allowed_ips: list[str] = Field(default_factory=list)
    # Log lines as JSON objects instead of text.
    json_logs: bool = False
    log_level: str = "INFO"
    # Terminals (ZK, TCP/UDP 4370): how often each is polled unless its options say otherwise.
    zk_poll_interval_s: float = Field(default=60.0, gt=0)
    # After a failed poll the retry waits this long, doubling per failure up to the maximum.
    zk_retry_base_s: float = Field(default=2.0, gt=0)
    zk_retry_max_s: float = Field(default=300.0, gt=0)
    # Socket timeout of one terminal command.
    zk_timeout_s: float = Field(default=5.0, gt=0)
    # Terminals polled at the same time (pyzk blocks, so one thread each).
    zk_workers: int = Field(default=16, ge=1)
    # A terminal clock off by more than this flags the punches read from it.
    zk_clock_skew_threshold_s: float = Field(default=120.0, ge=0)
    # Identity details (firmware, serial…) are re-read every this many polls.
    zk_info_every: int = Field(default=20, ge=1)
    # Several collectors (docs/fleet.md). This process's name among them, unique while it
    # runs (default: host name and process id); its leases and MQTT session carry it.
    node_id: str | None = Field(default=None, max_length=100)
    # The parts `punchgate serve` runs when --roles is not given: "all", or some of
    # api, poller, mqtt, push, days, outbox, retention, comma-separated.
    roles: str = "all"
    # A terminal or singleton job is held this long after the last heartbeat: a dead
    # process's terminals are taken over within about this time. Heartbeats come at a third.
    lease_s: float = Field(default=30.0, ge=1.0, le=3600.0)
    # MQTT 5 shared subscription group: set, every consumer subscribes with
    # $share/<group>/… and the broker hands each phone message to one of them.
    mqtt_share_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Site agents, central side (collector/agent): how long a one-time enrolment token stays
    # usable, and the defaults pushed to every agent (an agent's options override them).
    agent_enrol_ttl_s: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    agent_contact_interval_s: float = Field(default=30.0, gt=0)
    agent_forward_interval_s: float = Field(default=2.0, gt=0)
    agent_batch_size: int = Field(default=2000, ge=1, le=10_000)
    # Committed batch ids are remembered this long (re-sent batches within it are answered
    # from the record; older ones are still harmless: the punches' own keys dedupe them).
    agent_batch_retention_days: int = Field(default=30, ge=1)
    # Site agent, on the agent's box (`punchgate agent run`): its buffer file, how many
    # punches it may hold (a week of a large site's outage is far below the default), the
    # fill ratio and free disk below which it warns, and a CA bundle for the central HTTPS.
    agent_buffer: Path = Path("punchgate-agent.sqlite3")
    agent_buffer_max_rows: int = Field(default=2_000_000, ge=100)
    agent_buffer_warn_ratio: float = Field(default=0.8, gt=0, le=1)
    agent_min_free_disk_mb: int = Field(default=200, ge=0)
    agent_ca_file: Path | None = None

    def database_url_safe(self) -> str:
        """The database URL with any password masked, for printing."""
        return safe_url(self.database_url)


def safe_url(url: str) -> str:
    """Mask the password in a URL so it can be shown or logged."""
    # Imported here: the site agent reads these settings on a small box and needs no
    # SQLAlchemy (some 15 MB) for anything else.
    from sqlalchemy.engine import make_url

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
