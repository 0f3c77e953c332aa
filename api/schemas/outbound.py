"""Schemas of outbound targets (webhooks, connectors) and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.outbound.events import EventType

URL_PATTERN = r"^https?://[^\s]+$"


class TargetCreate(BaseModel):
    """A new target. Webhooks get a signing secret unless one is given (whsec_…);
    connectors take their credential in `secret` (ERPNext: `api_key:api_secret`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["webhook", "erpnext", "odoo"]
    url: str = Field(min_length=8, max_length=2000, pattern=URL_PATTERN)
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))
    config: dict[str, str | int | bool] = Field(default_factory=dict, max_length=20)
    secret: str | None = Field(default=None, min_length=8, max_length=500)


class TargetUpdate(BaseModel):
    """Changes to a target; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=URL_PATTERN)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EventType))
    config: dict[str, str | int | bool] | None = Field(default=None, max_length=20)
    enabled: bool | None = None
    secret: str | None = Field(default=None, min_length=8, max_length=500)


class TargetPublic(BaseModel):
    """A target as listed: never its secrets."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    url: str
    events: list[str]
    config: dict[str, Any]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class TargetCreated(TargetPublic):
    """A target just created; a webhook's signing secret is shown this once."""

    secret: str | None


class SecretRotated(BaseModel):
    """The new signing secret (shown once); the old ones sign beside it until `overlap_until`."""

    secret: str
    overlap_until: datetime


class MessagePublic(BaseModel):
    """One event for one target and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    msg_id: str
    event_type: str
    subject: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: str | None


class AttemptPublic(BaseModel):
    """One attempt in the delivery log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    code: int | None
    outcome: str
    error: str | None
    duration_ms: int


class EmployeeError(BaseModel):
    """Messages a target refused for one employee, and why (fix it there, then replay)."""

    subject: str | None
    messages: int
    last_error: str | None
    last_attempt_at: datetime


class Replayed(BaseModel):
    """How many messages were queued again."""

    replayed: int
