"""SQLAlchemy models for every record in ARCHITECTURE.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from collector.store.coltypes import BigId, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Department(Base):
    """A department employees belong to; reports group by it."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))


class Site(Base):
    """A place of work: its timezone, calendar region and GPS fence."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    polygon: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Fence behaviour for phones (accuracy limits, outside policy, BSSIDs, punch mode).
    fence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Employee(Base):
    """A person who punches; never hard-deleted so punches keep their owner."""

    __tablename__ = "employees"
    # Department scoping and filters select employees by department on every request.
    __table_args__ = (Index("ix_employees_department", "department_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # PIN on terminals and phones
    name: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    # OwnTracks user name or other per-source identities, e.g. {"owntracks": "alice"}.
    identities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class Device(Base):
    """A terminal (pull or push) or a phone gateway, with its live status and sync state."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))  # zk, hik, dahua, biotime (pulled), push, mobile
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    direction_mode: Mapped[str] = mapped_column(String(16), default="auto")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Connection: host/port/transport for pulled terminals; serial for push terminals.
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(8), default="auto")
    serial: Mapped[str | None] = mapped_column(String(64), unique=True)
    comm_key_secret: Mapped[str | None] = mapped_column(Text)  # never printed or logged
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Live status.
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    firmware: Mapped[str | None] = mapped_column(String(100))
    platform: Mapped[str | None] = mapped_column(String(100))
    record_count: Mapped[int | None] = mapped_column(Integer)
    record_capacity: Mapped[int | None] = mapped_column(Integer)
    user_count: Mapped[int | None] = mapped_column(Integer)
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    # Sync state: what has been read and committed from this device.
    sync_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_sync_at: Mapped[datetime | None] = mapped_column()
    # Latest punch time this device has reported up to (keeps days provisional until past).
    reported_until: Mapped[datetime | None] = mapped_column()


class Policy(Base):
    """A named attendance policy; the document is validated by rules on load."""

    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column()


class PolicyAssignment(Base):
    """Which policy an employee is under, from a date (to an optional end date)."""

    __tablename__ = "policy_assignments"
    __table_args__ = (UniqueConstraint("employee_id", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class ShiftType(Base):
    """A roster shift type: a code, its name and the fixed-shift document (rules.shifts)."""

    __tablename__ = "shift_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column()


class ShiftPattern(Base):
    """A repeating roster pattern: a cycle from an anchor date, a week, or an auto set."""

    __tablename__ = "shift_patterns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # cycle, weekly, auto
    codes: Mapped[list[Any]] = mapped_column(JSON)
    anchor: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column()


class RosterAssignment(Base):
    """A pattern for one employee or a whole department, from a date (to an optional end)."""

    __tablename__ = "roster_assignments"
    __table_args__ = (
        Index("ix_roster_assignments_employee", "employee_id"),
        Index("ix_roster_assignments_department", "department_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ForeignKey("shift_patterns.id"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class RosterDay(Base):
    """An explicit roster entry for one employee-day (a swap, an extra shift, a day off)."""

    __tablename__ = "roster_days"
    __table_args__ = (UniqueConstraint("employee_id", "local_date"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    local_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(16))  # a shift type's code or a rest code
    note: Mapped[str] = mapped_column(String(200), default="")


class Punch(Base):
    """One normalised attendance record; never edited, only added (corrections too)."""

    __tablename__ = "punches"
    __table_args__ = (
        Index("ix_punches_employee_time", "employee_id", "occurred_at"),
        Index("ix_punches_occurred_at", "occurred_at"),
        # Only punches still waiting for their employee: tiny, and what linking looks up.
        Index(
            "ix_punches_unlinked_code",
            "employee_code",
            sqlite_where=text("employee_id IS NULL"),
            postgresql_where=text("employee_id IS NULL"),
        ),
        # Phone punches only: a phone's previous fix (spoofing checks), looked up by code.
        Index(
            "ix_punches_mobile_code_time",
            "employee_code",
            "occurred_at",
            sqlite_where=text("source_kind = 'mobile'"),
            postgresql_where=text("source_kind = 'mobile'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # 64 bits in wall-clock order (collector.normalize.wall_key): appended, like the table.
    dedupe_key: Mapped[int] = mapped_column(BigInteger, unique=True)
    employee_code: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    occurred_at: Mapped[datetime] = mapped_column()  # UTC
    tz: Mapped[str] = mapped_column(String(64))  # the source's IANA zone
    local_date: Mapped[date] = mapped_column(Date)  # date in `tz`
    source_kind: Mapped[str] = mapped_column(String(16))
    device_code: Mapped[str | None] = mapped_column(String(64))
    verify: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    site_code: Mapped[str | None] = mapped_column(String(64))
    distance_m: Mapped[float | None] = mapped_column(Float)
    geo_decision: Mapped[str | None] = mapped_column(String(32))
    # Kept instead of the coordinates once they pass the retention period.
    distance_band: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[int] = mapped_column(Integer, default=0)
    source_ref: Mapped[str | None] = mapped_column(String(200))
    voids_punch_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column()


class Quarantine(Base):
    """Input that could not become a punch, kept with the reason; never dropped."""

    __tablename__ = "quarantine"
    # The open list and its counts select by status; retention finds old dismissed items.
    # The rows one origin added lately bound a flood of bad input (collector.store.flood).
    __table_args__ = (
        Index("ix_quarantine_status_resolved", "status", "resolved_at"),
        Index("ix_quarantine_origin", "source_kind", "origin", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(32), unique=True)
    received_at: Mapped[datetime] = mapped_column()
    source_kind: Mapped[str] = mapped_column(String(16))
    device_code: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(300))  # line number, topic, offset
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, reprocessed, dismissed
    resolved_at: Mapped[datetime | None] = mapped_column()
    # Why HR dismissed the item (the audit log holds who and when too).
    note: Mapped[str | None] = mapped_column(Text)
    punch_id: Mapped[int | None] = mapped_column(BigId)
    # The raw punch that failed normalisation (JSON), replayed when the item is reprocessed.
    attempt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Who sent it: the terminal's device code, or the phone's MQTT topic.
    origin: Mapped[str | None] = mapped_column(String(300))
    # How many bad inputs the row stands for: above 1 it keeps the rest of a flood as one.
    input_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Bytes of raw input the row stands for, when `raw` had to be cut to fit.
    raw_size: Mapped[int | None] = mapped_column(BigInteger)


class DirtyDay(Base):
    """An employee-day whose attendance must be recomputed."""

    __tablename__ = "dirty_days"
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    # Bumped by every new mark of the day; a claim deletes only the version it read.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AttendanceDay(Base):
    """What one employee's local day means under the policy in force, with the why."""

    __tablename__ = "attendance_days"
    __table_args__ = (
        UniqueConstraint("employee_id", "local_date"),
        Index("ix_attendance_days_date", "local_date"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    local_date: Mapped[date] = mapped_column(Date)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    status: Mapped[str] = mapped_column(String(32))  # a DayStatus, or leave:<type>
    provisional: Mapped[bool] = mapped_column(Boolean, default=True)
    first_in: Mapped[datetime | None] = mapped_column()
    last_out: Mapped[datetime | None] = mapped_column()
    worked_s: Mapped[int] = mapped_column(Integer, default=0)
    break_s: Mapped[int] = mapped_column(Integer, default=0)
    late_s: Mapped[int] = mapped_column(Integer, default=0)
    early_leave_s: Mapped[int] = mapped_column(Integer, default=0)
    overtime: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    balance_delta_s: Mapped[int] = mapped_column(Integer, default=0)
    anomalies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column()
    # The day's expected working time under its policy (0 on rest days and holidays).
    target_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Core-hour time without presence (flexitime).
    core_missed_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the day's punch window closes (UTC); provisional rows are re-checked after it.
    closes_at: Mapped[datetime | None] = mapped_column()
    # Counted time inside the policy's night window (0 when the policy has none); 0020.
    night_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditLog(Base):
    """Every manual change: who, when, what, why. Append-only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """An API key, stored only as a hash; the secret is shown once at creation."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # admin, hr, manager, viewer
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


class UiSession(Base):
    """A signed-in web page session: the cookie holds a random id, only its hash is kept."""

    __tablename__ = "ui_sessions"
    __table_args__ = (Index("ix_ui_sessions_key", "key_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)  # a handle for admins, not the cookie
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's id
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column()
    # Written at most once a minute per session; idle expiry counts from it.
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()  # the absolute end, whatever the activity
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class PushCommand(Base):
    """A command queued for a push terminal, handed out by /iclock/getrequest, with its result."""

    __tablename__ = "push_commands"
    __table_args__ = (Index("ix_push_commands_device_status", "device_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)  # the <id> in C:<id>:<command>
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    kind: Mapped[str] = mapped_column(String(32))  # sync_roster, set_clock, reboot, clear_log
    command: Mapped[str] = mapped_column(Text)  # the wire text after C:<id>:
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sent, done, failed
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column()
    return_code: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PushRosterEntry(Base):
    """One person enrolled on one push terminal, as its OPERLOG uploads report."""

    __tablename__ = "push_roster"
    __table_args__ = (UniqueConstraint("device_id", "pin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    pin: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    privilege: Mapped[int] = mapped_column(Integer, default=0)
    card: Mapped[str] = mapped_column(String(64), default="")
    grp: Mapped[str] = mapped_column(String(16), default="")  # the terminal's access group
    has_password: Mapped[bool] = mapped_column(Boolean, default=False)
    templates: Mapped[int] = mapped_column(Integer, default=0)  # FP/FACE lines seen
    updated_at: Mapped[datetime] = mapped_column()


class PayCalendar(Base):
    """A pay cycle for the company (no department) or for one department."""

    __tablename__ = "pay_calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))  # rules.payperiod.CycleKind
    start_day: Mapped[int] = mapped_column(Integer, default=1)
    anchor: Mapped[date | None] = mapped_column(Date)
    # None: the company's cycle, for every department without one of its own.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column()


class PayPeriod(Base):
    """A period that has been closed (and perhaps reopened) on a pay calendar."""

    __tablename__ = "pay_periods"
    __table_args__ = (UniqueConstraint("calendar_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("pay_calendars.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # closed, reopened
    closed_at: Mapped[datetime] = mapped_column()
    closed_by: Mapped[str] = mapped_column(String(200))
    # Checklist items HR overrode at close: item → reason.
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    employees: Mapped[int] = mapped_column(Integer, default=0)
    reopened_at: Mapped[datetime | None] = mapped_column()
    reopened_by: Mapped[str | None] = mapped_column(String(200))


class ClosedDay(Base):
    """An employee-day frozen by a period close: its attendance_days row no longer changes."""

    __tablename__ = "closed_days"
    __table_args__ = (Index("ix_closed_days_period", "period_id"),)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("pay_periods.id"))
    policy_id: Mapped[int | None] = mapped_column(Integer)
    # The punches the day was evaluated from at close, to say what changed since.
    punch_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)


class DayAdjustment(Base):
    """A change to a closed day: the difference, its cause, and the period it is paid in."""

    __tablename__ = "day_adjustments"
    __table_args__ = (
        Index("ix_day_adjustments_day", "employee_id", "local_date"),
        Index("ix_day_adjustments_carried", "carried_period_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    local_date: Mapped[date] = mapped_column(Date)
    period_id: Mapped[int] = mapped_column(ForeignKey("pay_periods.id"))  # the closed period
    # The period whose close carried it (None: waiting for the next close).
    carried_period_id: Mapped[int | None] = mapped_column(ForeignKey("pay_periods.id"))
    created_at: Mapped[datetime] = mapped_column()
    cause: Mapped[str] = mapped_column(Text)
    delta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Leave(Base):
    """One leave or absence entry HR recorded: a type, a date range and how much of each day."""

    __tablename__ = "leaves"
    __table_args__ = (
        # What an import matches on: importing the same file twice changes nothing.
        UniqueConstraint("employee_id", "start_date", "leave_type", "part", "start_time"),
        Index("ix_leaves_employee_dates", "employee_id", "start_date", "end_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    leave_type: Mapped[str] = mapped_column(String(32))  # a code of rules.leavetypes
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)  # inclusive; equal to start_date unless full
    part: Mapped[str] = mapped_column(String(8))  # full, am, pm, hours
    start_time: Mapped[str] = mapped_column(String(5), default="")  # hours: "HH:MM", else ""
    end_time: Mapped[str] = mapped_column(String(5), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="hr")  # hr (entered), import
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class LeaveQuota(Base):
    """How many days of a leave type an employee may take in a calendar year."""

    __tablename__ = "leave_quotas"
    __table_args__ = (UniqueConstraint("employee_id", "leave_type", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    leave_type: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    days: Mapped[float] = mapped_column(Float)


class OutboundTarget(Base):
    """Where events go: a webhook endpoint or an ERP connector, and the events it takes."""

    __tablename__ = "outbound_targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook, erpnext, odoo
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)  # event types subscribed
    # Sealed secrets, newest first: [{"secret": "fernet:…", "expires_at": ISO or null}].
    # Webhooks sign with every unexpired one (rotation); connectors use the first as credential.
    secrets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # connector settings
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()


class OutboxMessage(Base):
    """One event for one target, written with the change that caused it; its delivery state."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Only what is still to deliver: what the delivery workers claim from.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # What HR acts on (per-employee errors, replay): not the pending rows every ingest
        # writes, which would cost ingest an index entry each. The log pages by primary key.
        Index(
            "ix_outbox_target_unsent",
            "target_id",
            "id",
            sqlite_where=text("status IN ('failed', 'rejected')"),
            postgresql_where=text("status IN ('failed', 'rejected')"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(40))  # webhook-id: one per event, on every retry
    target_id: Mapped[int] = mapped_column(ForeignKey("outbound_targets.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    # The body, byte for byte as every attempt sends it; punch events are built from the
    # punch `ref_id` names when claimed, kept once a retry follows (collector.outbound.events).
    payload: Mapped[str | None] = mapped_column(Text)
    ref_id: Mapped[int | None] = mapped_column(BigId)
    subject: Mapped[str | None] = mapped_column(String(64))  # employee code or device it concerns
    # pending, delivered, failed (gave up or endpoint gone), rejected (needs HR), skipped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()  # also the lease of a claimed message
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the event was written, or last replayed: the retry window counts from here.
    created_at: Mapped[datetime] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()


class OutboxAttempt(Base):
    """The delivery log: one row per attempt to send an outbox message."""

    __tablename__ = "outbox_attempts"
    __table_args__ = (Index("ix_outbox_attempts_message", "message_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id"))
    at: Mapped[datetime] = mapped_column()
    code: Mapped[int | None] = mapped_column(Integer)  # HTTP status, none when no answer
    outcome: Mapped[str] = mapped_column(String(16))  # delivered, retry, rejected, gone, skipped
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class AppEnrolment(Base):
    """A one-time link HR gives an employee to bind a phone to the punch app; only its hash kept."""

    __tablename__ = "app_enrolments"
    __table_args__ = (Index("ix_app_enrolments_employee", "employee_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the link's code
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()  # set once: a link binds one phone


class AppDevice(Base):
    """A phone bound to an employee for the punch app: the cookie holds a token, this its hash."""

    __tablename__ = "app_devices"
    __table_args__ = (Index("ix_app_devices_employee", "employee_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("app_enrolments.id"))
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()  # refused from this moment on
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class EmployeeRequest(Base):
    """An employee's request (missed punch, leave, trip, overtime, swap) and its decision."""

    __tablename__ = "employee_requests"
    __table_args__ = (
        # The inbox and the period checklist: pending requests by day.
        Index("ix_employee_requests_state_day", "state", "local_date"),
        # The monthly limits: one employee's requests of a kind in a month.
        Index("ix_employee_requests_employee", "employee_id", "kind", "local_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    kind: Mapped[str] = mapped_column(String(16))  # a rules.requests.RequestKind
    state: Mapped[str] = mapped_column(String(16), default="pending")  # a RequestState
    local_date: Mapped[date] = mapped_column(Date)  # the (first) day it concerns
    end_date: Mapped[date] = mapped_column(Date)  # the last day it concerns (leave ranges)
    other_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))  # swaps
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the kind needs
    reason: Mapped[str] = mapped_column(Text, default="")  # the requester's words
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")  # the decider's words
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what approval stored


# -- fleet: several collectors on one database (collector/fleet, docs/fleet.md) ---------------


class FleetNode(Base):
    """A running service process: its roles and heartbeat (live while the heartbeat is fresh)."""

    __tablename__ = "fleet_nodes"
    node_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    roles: Mapped[str] = mapped_column(String(200), default="")  # comma-separated role names
    started_at: Mapped[datetime] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column()


class Lease(Base):
    """Who holds a piece of work until when: `terminal:<code>` or `job:<name>`."""

    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_owner", "owner"),)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))  # a fleet_nodes.node_id (no FK: may be gone)
    acquired_at: Mapped[datetime] = mapped_column()  # when this owner took it
    expires_at: Mapped[datetime] = mapped_column()  # free for anyone after this


# --- site agents (collector/agent): enrolment, their terminals, committed batch ids ---


class SiteAgent(Base):
    """A site agent inside an office LAN: its enrolment, credential (a hash) and health."""

    __tablename__ = "site_agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Intervals and batch size pushed to the agent (see collector.agent.config).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200), default="")
    # The one-time enrolment token's sha256, until it is exchanged or replaced.
    enrol_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None] = mapped_column()
    # The long-lived credential's sha256, set when the token is exchanged.
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()  # refused from this moment on
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    # Health, as last reported.
    version: Mapped[str | None] = mapped_column(String(64))
    hostname: Mapped[str | None] = mapped_column(String(200))
    last_contact_at: Mapped[datetime | None] = mapped_column()
    clock_skew_s: Mapped[float | None] = mapped_column(Float)  # positive: the agent is ahead
    buffer_depth: Mapped[int | None] = mapped_column(BigInteger)
    buffer_capacity: Mapped[int | None] = mapped_column(BigInteger)
    oldest_buffered_at: Mapped[datetime | None] = mapped_column()
    warning: Mapped[str | None] = mapped_column(Text)  # buffer or disk filling up


class SiteAgentTerminal(Base):
    """A terminal read by a site agent instead of the central poller."""

    __tablename__ = "site_agent_terminals"
    __table_args__ = (Index("ix_site_agent_terminals_agent", "agent_id"),)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("site_agents.id"))


class SiteAgentBatch(Base):
    """A batch an agent forwarded, committed with its punches: a batch id is stored once."""

    __tablename__ = "site_agent_batches"
    __table_args__ = (Index("ix_site_agent_batches_committed", "committed_at"),)
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("site_agents.id"))
    committed_at: Mapped[datetime] = mapped_column()
    items: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
