"""The TOML configuration file: sites, devices, employees and policies, applied idempotently."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.days.assign import assign_policy, mark_policy_days
from collector.masterdata.zones import change_device_zone
from collector.normalize import NormalizeError, NormalizePolicy, zone
from collector.sealing import SecretBox
from collector.store.ingest import link_employee
from collector.store.models import Department, Device, Employee, Policy, Site
from rules.schema import PolicyError, parse_document

T = TypeVar("T")


class ConfigError(ValueError):
    """The configuration file is unreadable or invalid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_zone(value: str | None) -> str | None:
    if value is not None:
        try:
            zone(value)
        except NormalizeError as exc:
            raise ValueError(str(exc)) from exc
    return value


class DepartmentConfig(_Strict):
    """A department."""

    code: str
    name: str
    parent: str | None = None


class SiteConfig(_Strict):
    """A work site: zone, holiday region and fence."""

    code: str
    name: str
    timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0)
    polygon: dict[str, Any] | None = None
    fence: dict[str, Any] = Field(default_factory=dict)

    _zone = field_validator("timezone")(_check_zone)


class DeviceConfig(_Strict):
    """A terminal or push terminal."""

    code: str
    name: str = ""
    kind: Literal["zk", "hik", "dahua", "biotime", "push", "mobile"] = "zk"
    site: str | None = None
    timezone: str | None = None  # defaults to the site's zone
    direction_mode: Literal["auto", "in", "out", "alternate"] = "auto"
    enabled: bool = True
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    transport: Literal["tcp", "udp", "auto"] = "auto"
    serial: str | None = None
    comm_key: SecretStr | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    _zone = field_validator("timezone")(_check_zone)

    @field_validator("comm_key", mode="before")
    @classmethod
    def _number_key(cls, value: Any) -> Any:
        # ZK comm keys are numbers, so `comm_key = 123456` (a TOML integer) is natural.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class EmployeeConfig(_Strict):
    """An employee and the policy they start under."""

    code: str
    name: str = ""
    department: str | None = None
    site: str | None = None
    active_from: date | None = None
    active_to: date | None = None
    identities: dict[str, str] = Field(default_factory=dict)
    policy: str | None = None
    policy_from: date | None = None


class PolicyConfig(_Strict):
    """A named policy; its document is checked by the rules engine."""

    name: str
    kind: str
    document: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid_document(self) -> PolicyConfig:
        try:
            parse_document(self.kind, self.document)
        except PolicyError as exc:
            raise ValueError(f"policy {self.name!r}: {exc}") from exc
        return self


class PunchgateConfig(_Strict):
    """The whole configuration file."""

    departments: list[DepartmentConfig] = Field(default_factory=list)
    sites: list[SiteConfig] = Field(default_factory=list)
    devices: list[DeviceConfig] = Field(default_factory=list)
    policies: list[PolicyConfig] = Field(default_factory=list)
    employees: list[EmployeeConfig] = Field(default_factory=list)


def load_config(path: Path) -> PunchgateConfig:
    """Read and validate a TOML file; errors name the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, Any], *, source: str = "config") -> PunchgateConfig:
    """Validate an already-parsed configuration mapping."""
    try:
        return PunchgateConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        ]
        # from None: pydantic's own message repeats each input value, and a value may be
        # a comm key; the lines above name field and problem without the value.
        raise ConfigError(f"{source}: " + "; ".join(lines)) from None


def apply_config(
    session: Session,
    cfg: PunchgateConfig,
    *,
    now: datetime,
    box: SecretBox | None = None,
    punch_policy: NormalizePolicy | None = None,
    actor: str = "config",
) -> dict[str, int]:
    """Upsert everything the file declares by its code or name; running it twice changes nothing."""
    counts = {"departments": 0, "sites": 0, "devices": 0, "policies": 0, "employees": 0}
    depts = {d.code: d for d in session.scalars(select(Department))}
    for dc in cfg.departments:
        dept = depts.get(dc.code) or Department(code=dc.code)
        dept.name = dc.name
        session.add(dept)
        depts[dc.code] = dept
        counts["departments"] += 1
    session.flush()
    for dc in cfg.departments:
        depts[dc.code].parent_id = _ref(depts, dc.parent, "department").id if dc.parent else None

    sites = {s.code: s for s in session.scalars(select(Site))}
    for sc in cfg.sites:
        site = sites.get(sc.code) or Site(code=sc.code)
        for name in ("name", "timezone", "country", "subdivision", "lat", "lon", "radius_m"):
            setattr(site, name, getattr(sc, name))
        site.polygon = sc.polygon
        site.fence = sc.fence
        session.add(site)
        sites[sc.code] = site
        counts["sites"] += 1
    session.flush()

    devices = {d.code: d for d in session.scalars(select(Device))}
    for dv in cfg.devices:
        device = devices.get(dv.code) or Device(code=dv.code)
        dsite = _ref(sites, dv.site, "site") if dv.site else None
        device.name, device.kind, device.site_id = dv.name, dv.kind, dsite.id if dsite else None
        tz = dv.timezone or (dsite.timezone if dsite else "UTC")
        # A corrected zone re-times the punches already read with the old one (audited).
        change_device_zone(
            session, device, tz, actor=actor, now=now, policy=punch_policy or NormalizePolicy()
        )
        device.direction_mode, device.enabled = dv.direction_mode, dv.enabled
        device.host, device.port, device.transport = dv.host, dv.port, dv.transport
        device.serial = dv.serial
        device.comm_key_secret = _sealed(box, device.comm_key_secret, dv.comm_key, dv.code)
        device.options = dv.options
        session.add(device)
        counts["devices"] += 1

    policies = {p.name: p for p in session.scalars(select(Policy))}
    for pc in cfg.policies:
        policy = policies.get(pc.name) or Policy(name=pc.name)
        existing = policy.id is not None
        if policy.id is None or policy.kind != pc.kind or policy.document != pc.document:
            policy.kind, policy.document, policy.updated_at = pc.kind, pc.document, now
            if existing:  # days computed under the old document are recomputed
                session.flush()
                mark_policy_days(session.connection(), policy.id, today=now.date())
        session.add(policy)
        policies[pc.name] = policy
        counts["policies"] += 1
    session.flush()

    employees = {e.code: e for e in session.scalars(select(Employee))}
    for ec in cfg.employees:
        emp = employees.get(ec.code)
        created = emp is None
        if emp is None:
            emp = Employee(code=ec.code, created_at=now)
        emp.name = ec.name
        emp.department_id = _ref(depts, ec.department, "department").id if ec.department else None
        emp.site_id = _ref(sites, ec.site, "site").id if ec.site else None
        emp.active_from, emp.active_to, emp.identities = ec.active_from, ec.active_to, ec.identities
        session.add(emp)
        session.flush()
        if created:
            link_employee(session.connection(), emp.id, [emp.code])
        if ec.policy:
            _assign(session, emp, _ref(policies, ec.policy, "policy"), ec, now)
        counts["employees"] += 1
    session.flush()
    return counts


def _assign(
    session: Session, emp: Employee, policy: Policy, ec: EmployeeConfig, now: datetime
) -> None:
    start = ec.policy_from or ec.active_from or date(now.year, 1, 1)
    assign_policy(
        session, employee_id=emp.id, policy_id=policy.id, effective_from=start, today=now.date()
    )


def _sealed(
    box: SecretBox | None, stored: str | None, comm_key: SecretStr | None, code: str
) -> str | None:
    # Comm keys are stored sealed, never plain; an unchanged key keeps its stored form.
    plain = comm_key.get_secret_value() if comm_key else None
    if not plain:
        return None
    if box is None:
        raise ConfigError(f"device {code!r}: a comm key can only be stored with a secret box")
    return box.reseal(stored, plain)


def _ref(table: dict[str, T], key: str | None, what: str) -> T:
    if key is None or key not in table:
        raise ConfigError(f"unknown {what} {key!r}")
    return table[key]
