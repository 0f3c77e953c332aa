"""The agent ↔ central contract, written once: paths, and JSON bodies validated by pydantic.

Every body carries `schema_version`. A batch item is either a punch (a `RawPunch` as
`collector.normalize.raw_to_json` writes it) or a bad record the agent could not read
(reason and raw text); the central service validates each item on its own, so one bad
item goes to quarantine with its reason and never refuses the batch around it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
ENROL_PATH = "/agent/v1/enrol"
CONTACT_PATH = "/agent/v1/contact"
BATCHES_PATH = "/agent/v1/batches"
MAX_BATCH_ITEMS = 10_000  # bounds one request's work and memory on both sides
BATCH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{8,64}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION


class EnrolRequest(_Body):
    """The agent exchanges its one-time token for a credential."""

    token: str = Field(min_length=1, max_length=128)
    hostname: str = Field(default="", max_length=200)
    version: str = Field(default="", max_length=64)


class EnrolReply(_Body):
    """The agent's code and its long-lived credential (shown once; only its hash is kept)."""

    agent: str
    credential: str


class TerminalHealth(_Body):
    """One terminal as the agent last saw it."""

    code: str = Field(max_length=64)
    status: Literal["online", "offline", "unauthorized", "unknown"] = "unknown"
    last_error: str | None = Field(default=None, max_length=1000)
    last_seen_at: AwareDatetime | None = None  # the agent's clock
    clock_skew_s: float | None = None
    record_count: int | None = None
    record_capacity: int | None = None
    user_count: int | None = None
    firmware: str | None = Field(default=None, max_length=100)
    platform: str | None = Field(default=None, max_length=100)
    serial: str | None = Field(default=None, max_length=64)


class Health(_Body):
    """The agent's own state, sent with every contact."""

    version: str = Field(default="", max_length=64)
    hostname: str = Field(default="", max_length=200)
    clock: AwareDatetime  # the agent's clock when it sent this: the centre measures skew
    buffer_depth: int = Field(ge=0)
    buffer_capacity: int = Field(ge=0)
    oldest_buffered_at: AwareDatetime | None = None
    warning: str | None = Field(default=None, max_length=1000)
    terminals: list[TerminalHealth] = Field(default_factory=list, max_length=1000)


class TerminalConfig(_Body):
    """One terminal the agent reads, with what it needs to talk to it (secret in clear)."""

    code: str
    kind: Literal["zk", "hik"]
    host: str
    port: int
    transport: str = "auto"
    timezone: str = "UTC"
    direction_mode: str = "auto"
    options: dict[str, Any] = Field(default_factory=dict)
    secret: str | None = Field(default=None, repr=False)  # ZK comm key or ISAPI password


class AgentConfig(_Body):
    """What the centre wants the agent to do; fetched on every contact (outbound only)."""

    agent: str
    config_version: str  # a digest of the rest: the agent logs when it changes
    poll_interval_s: float
    contact_interval_s: float
    forward_interval_s: float
    batch_size: int
    terminals: list[TerminalConfig]


class BadRecord(BaseModel):
    """A record the agent read but could not make into a punch."""

    model_config = ConfigDict(extra="ignore")

    reason: str = Field(max_length=1000)
    raw: str = Field(max_length=20_000)
    device_code: str | None = Field(default=None, max_length=64)
    reference: str | None = Field(default=None, max_length=300)


class WirePunch(BaseModel):
    """The fields of a forwarded punch, typed (checked per item, so one bad item is quarantined)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    employee_code: str = Field(max_length=200)
    timestamp: str = Field(max_length=64)  # ISO 8601, naive (the terminal's zone) or aware
    source_kind: str
    tz: str | None = Field(default=None, max_length=64)
    device_code: str | None = Field(default=None, max_length=64)
    verify: str | int | None = None
    state: str | int | None = None
    direction_mode: str | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    site_code: str | None = None
    distance_m: float | None = None
    geo_decision: str | None = None
    flags: int = 0
    source_ref: str | None = Field(default=None, max_length=300)
    raw: str | None = Field(default=None, max_length=20_000)
    note: str | None = Field(default=None, max_length=1000)
    voids_punch_id: int | None = None


class BatchItem(BaseModel):
    """A punch (as `raw_to_json` writes it) or a bad record; the punch is checked centrally."""

    model_config = ConfigDict(extra="ignore")

    punch: dict[str, Any] | None = None
    bad: BadRecord | None = None


class Batch(_Body):
    """Punches from the agent's buffer under one id: committed at most once centrally."""

    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    items: list[BatchItem] = Field(max_length=MAX_BATCH_ITEMS)


class BatchReceipt(_Body):
    """The centre's answer once the batch is committed (now or before: `repeated`)."""

    status: Literal["committed"] = "committed"
    batch_id: str
    repeated: bool  # the batch id was committed before; nothing was stored this time
    items: int
    inserted: int
    duplicates: int
    quarantined: int
    committed_at: datetime
