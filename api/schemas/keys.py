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
