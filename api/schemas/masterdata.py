"""Schemas of departments, sites, devices, employees, policies and assignments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.deps import RowId

CODE_PATTERN = r"^[^\s/]([^/\x00-\x1f]*[^\s/])?$"  # what a code may look like in a URL or CSV


def _code() -> Any:
    return Field(min_length=1, max_length=64, pattern=CODE_PATTERN)


def _opt_code() -> Any:
    return Field(default=None, min_length=1, max_length=64, pattern=CODE_PATTERN)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DepartmentCreate(_In):
    """A new department."""

    code: str = _code()
    name: str = Field(min_length=1, max_length=200)
    parent_id: RowId | None = None


class DepartmentUpdate(_In):
    """Fields of a department to change."""

    code: str | None = _opt_code()
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: RowId | None = None


class DepartmentPublic(_Out):
    """A department."""

    id: int
    code: str
    name: str
    parent_id: int | None


class SiteCreate(_In):
    """A new site with its fence."""

    code: str = _code()
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    country: str | None = Field(default=None, max_length=8)
    subdivision: str | None = Field(default=None, max_length=16)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0)
    polygon: dict[str, Any] | None = None
    fence: dict[str, Any] = Field(default_factory=dict)


class SiteUpdate(_In):
    """Fields of a site to change."""

    code: str | None = _opt_code()
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    country: str | None = Field(default=None, max_length=8)
    subdivision: str | None = Field(default=None, max_length=16)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0)
    polygon: dict[str, Any] | None = None
    fence: dict[str, Any] | None = None


class SitePublic(_Out):
    """A site and its fence."""

    id: int
    code: str
    name: str
    timezone: str
    country: str | None
    subdivision: str | None
    lat: float | None
    lon: float | None
    radius_m: float | None
    polygon: dict[str, Any] | None
    fence: dict[str, Any]


DeviceKind = Literal["zk", "hik", "dahua", "biotime", "push", "mobile"]
Direction = Literal["auto", "in", "out", "alternate"]
Transport = Literal["tcp", "udp", "auto"]


class DeviceCreate(_In):
    """A new device; the comm key is accepted here and never returned."""

    code: str = _code()
    name: str = Field(default="", max_length=200)
    kind: DeviceKind = "zk"
    site: str | None = None
    timezone: str | None = None
    direction_mode: Direction = "auto"
    enabled: bool = True
    host: str | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    transport: Transport = "auto"
    serial: str | None = Field(default=None, max_length=64)
    comm_key: SecretStr | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class DeviceUpdate(_In):
    """Fields of a device to change (comm_key null clears it)."""

    code: str | None = _opt_code()
    name: str | None = Field(default=None, max_length=200)
    kind: DeviceKind | None = None
    site: str | None = None
    timezone: str | None = None
    direction_mode: Direction | None = None
    enabled: bool | None = None
    host: str | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    transport: Transport | None = None
    serial: str | None = Field(default=None, max_length=64)
    comm_key: SecretStr | None = None
    options: dict[str, Any] | None = None


class DevicePublic(_Out):
    """A device with its live status; whether a comm key is set, never the key."""

    id: int
    code: str
    name: str
    kind: str
    site_id: int | None
    timezone: str
    direction_mode: str
    enabled: bool
    host: str | None
    port: int | None
    transport: str
    serial: str | None
    has_comm_key: bool
    options: dict[str, Any]
    status: str
    last_seen_at: datetime | None
    last_error: str | None
    firmware: str | None
    platform: str | None
    record_count: int | None
    record_capacity: int | None
    user_count: int | None
    clock_skew_s: float | None
    last_sync_at: datetime | None


class EmployeeCreate(_In):
    """A new employee; department and site by code."""

    code: str = _code()
    name: str = Field(default="", max_length=200)
    department: str | None = None
    site: str | None = None
    active_from: date | None = None
    active_to: date | None = None
    identities: dict[str, str] = Field(default_factory=dict)


class EmployeeUpdate(_In):
    """Fields of an employee to change."""

    code: str | None = _opt_code()
    name: str | None = Field(default=None, max_length=200)
    department: str | None = None
    site: str | None = None
    active_from: date | None = None
    active_to: date | None = None
    identities: dict[str, str] | None = None


class EmployeePublic(_Out):
    """An employee."""

    id: int
    code: str
    name: str
    department_id: int | None
    department: str | None = None
    site_id: int | None
    site: str | None = None
    active_from: date | None
    active_to: date | None
    identities: dict[str, Any]
    deleted_at: datetime | None
    created_at: datetime


class EmployeeImportResult(BaseModel):
    """What a CSV upsert did."""

    created: int
    updated: int


class PolicyCreate(_In):
    """A new policy; the document is checked by the rules engine when it is loaded."""

    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(min_length=1, max_length=32)
    document: dict[str, Any] = Field(default_factory=dict)


class PolicyUpdate(_In):
    """Fields of a policy to change; its days are recomputed."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: str | None = Field(default=None, min_length=1, max_length=32)
    document: dict[str, Any] | None = None


class PolicyPublic(_Out):
    """A policy."""

    id: int
    name: str
    kind: str
    document: dict[str, Any]
    updated_at: datetime


class AssignmentCreate(_In):
    """Put an employee under a policy from a date."""

    policy_id: RowId
    effective_from: date
    effective_to: date | None = None


class AssignmentUpdate(_In):
    """Fields of an assignment to change."""

    policy_id: RowId | None = None
    effective_from: date | None = None
    effective_to: date | None = None


class AssignmentPublic(_Out):
    """An effective-dated policy assignment."""

    id: int
    employee_id: int
    policy_id: int
    effective_from: date
    effective_to: date | None
