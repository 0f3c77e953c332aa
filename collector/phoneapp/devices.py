"""Enrolment links and the phones they bind, kept as hashes like the pages' sessions.

HR creates an enrolment for an employee: a random code, valid once and for
`app_enrolment_ttl_s` seconds, whose sha256 is stored. Opening the link and confirming
binds that phone: the enrolment is used up in the same transaction and the phone gets a
random token (the app's cookie) whose sha256 is stored with the employee. Every app
request looks the hash up, so revoking a device refuses it from the next request on.
Both secrets have 256 bits of entropy, so a fast hash is enough (as for API keys).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from collector.errors import Conflict, NotFound
from collector.store.models import AppDevice, AppEnrolment, Employee

TOKEN_MAX = 64  # a code or token longer than this is not one of ours (ours are 43 characters)
USER_AGENT_MAX = 200
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per phone


def digest(secret: str) -> str:
    """The stored form of an enrolment code or device token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewEnrolment:
    """An enrolment just created: the code goes into the link and is never stored."""

    id: int
    code: str
    expires_at: datetime


def create_enrolment(
    session: Session, *, employee: Employee, now: datetime, ttl: timedelta, actor: str
) -> NewEnrolment:
    """A one-time enrolment for `employee`, usable until now + ttl."""
    code = secrets.token_urlsafe(32)
    row = AppEnrolment(
        code_hash=digest(code),
        employee_id=employee.id,
        created_by=actor[:200],
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return NewEnrolment(row.id, code, row.expires_at)


def pending_enrolment(session: Session, *, code: str, now: datetime) -> Employee:
    """The employee an unused, unexpired enrolment code is for; NotFound otherwise."""
    found = _usable(session, code, now)
    employee = session.get(Employee, found.employee_id)
    if employee is None or employee.deleted_at is not None:
        raise NotFound("this enrolment link is no longer valid")
    return employee


def redeem(session: Session, *, code: str, now: datetime, user_agent: str | None) -> str:
    """Use up the enrolment and bind a new device; returns the device's token."""
    found = _usable(session, code, now)
    # The conditional update makes "once" hold under concurrent openings of one link.
    used = session.execute(
        update(AppEnrolment)
        .where(AppEnrolment.id == found.id, AppEnrolment.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this enrolment link has already been used")
    token = secrets.token_urlsafe(32)
    session.add(
        AppDevice(
            token_hash=digest(token),
            employee_id=found.employee_id,
            enrolment_id=found.id,
            user_agent=(user_agent or "")[:USER_AGENT_MAX],
            created_at=now,
        )
    )
    session.flush()
    return token


def _usable(session: Session, code: str, now: datetime) -> AppEnrolment:
    row = None
    if 0 < len(code) <= TOKEN_MAX:
        row = session.scalar(select(AppEnrolment).where(AppEnrolment.code_hash == digest(code)))
    # One answer for unknown, used and expired: the link says nothing about others.
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise NotFound("this enrolment link is unknown, used or expired")
    return row


@dataclass(frozen=True, slots=True)
class BoundPhone:
    """A live device and the employee it punches for."""

    device_id: int
    employee_id: int
    employee_code: str
    employee_name: str
    site_id: int | None
    last_seen_at: datetime | None


def authenticate(session: Session, *, token: str, now: datetime) -> BoundPhone | None:
    """The live device a token belongs to, or None (unknown, revoked, employee deleted)."""
    if not 0 < len(token) <= TOKEN_MAX:
        return None
    row = session.execute(
        select(
            AppDevice.id,
            AppDevice.last_seen_at,
            Employee.id,
            Employee.code,
            Employee.name,
            Employee.site_id,
        )
        .join(Employee, Employee.id == AppDevice.employee_id)
        .where(
            AppDevice.token_hash == digest(token),
            AppDevice.revoked_at.is_(None),
            Employee.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return BoundPhone(row[0], row[2], row[3], row[4], row[5], row[1])


def touch_due(phone: BoundPhone, now: datetime) -> bool:
    """Whether the phone's last_seen_at is old enough to be written again."""
    return phone.last_seen_at is None or phone.last_seen_at <= now - TOUCH_EVERY


def touch(session: Session, *, device_id: int, now: datetime) -> bool:
    """Note the device was seen, at most once a minute; True when it wrote."""
    done = session.execute(
        update(AppDevice)
        .where(
            AppDevice.id == device_id,
            (AppDevice.last_seen_at.is_(None)) | (AppDevice.last_seen_at <= now - TOUCH_EVERY),
        )
        .values(last_seen_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def list_devices(session: Session, *, employee: Employee) -> list[AppDevice]:
    """The employee's phones, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(AppDevice)
            .where(AppDevice.employee_id == employee.id)
            .order_by(AppDevice.id.desc())
        )
    )


def revoke(
    session: Session, *, employee: Employee, device_id: int, now: datetime, actor: str
) -> AppDevice:
    """Revoke one of the employee's phones (again is harmless); NotFound for another's."""
    row = session.get(AppDevice, device_id)
    if row is None or row.employee_id != employee.id:
        raise NotFound(f"employee {employee.code!r} has no app device {device_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_by = actor[:200]
        session.flush()
    return row
