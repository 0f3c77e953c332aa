"""Schemas of API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from collector.apikeys import Role


class ApiKeyCreate(BaseModel):
    """A new key: its name, role and optional department scope (by code)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    department: str | None = Field(default=None, max_length=64)


class ApiKeyPublic(BaseModel):
    """A key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    prefix: str
    department_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """A key just created, with the token shown this once."""

    token: str


class UiSessionPublic(BaseModel):
    """A live web page session: whose key, since when, until when, from which browser.

    Never the session's id or its hash: `id` is the row's number, for ending it.
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: int
    key_name: str
    role: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end, whatever the activity
    idle_expires_at: datetime  # when it ends unless used before
    user_agent: str


class SignOutEverywhere(BaseModel):
    """Which sessions to end: those of one key, or every session when no key is named."""

    model_config = ConfigDict(extra="forbid")

    key_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class SessionsEnded(BaseModel):
    """How many sessions were ended."""

    ended: int
