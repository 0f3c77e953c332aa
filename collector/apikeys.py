"""API keys: roles, creation (the secret shown once), lookup by prefix, revocation.

A key reads ``pg_<prefix>_<secret>``; only sha256(secret) is stored. The secret has 256
bits of entropy, so a fast hash is enough (no password stretching needed) and is compared
in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from collector import uisessions
from collector.errors import Conflict, InvalidInput, NotFound
from collector.store.models import ApiKey, Department

KEY_PREFIX = "pg"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


class Role(enum.StrEnum):
    """What a key may do; each role includes everything the roles below it may do."""

    VIEWER = "viewer"  # reports only, without GPS coordinates or raw payloads
    # a viewer who also decides employee requests; normally given a department (its own)
    MANAGER = "manager"
    HR = "hr"  # reads everything, corrects punches, reports
    ADMIN = "admin"  # everything, including master data and keys

    @property
    def rank(self) -> int:
        """Position in the order viewer < manager < hr < admin."""
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role meets `needed`."""
        return self.rank >= needed.rank


_RANKS = {role: i for i, role in enumerate(Role)}


def granted_role(role: str, department_id: int | None) -> Role:
    """What a key may do: a department-scoped key is at most hr.

    Admin work (keys, departments, sites, policies, devices) is shared by every department,
    so a scope cannot confine it; a scoped admin key made before this rule acts as hr.
    """
    granted = Role(role)
    if department_id is not None and granted is Role.ADMIN:
        return Role.HR
    return granted


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key and its secret, which is never shown again."""

    key: ApiKey
    token: str


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    session: Session, *, name: str, role: Role, now: datetime, department_code: str | None = None
) -> NewKey:
    """Create a key; the returned token is the only time the secret exists in clear."""
    if not name.strip():
        raise InvalidInput("a key needs a name", field="name")
    department_id = None
    if department_code is not None and role is Role.ADMIN:
        raise InvalidInput(
            "an admin key cannot be limited to a department: it manages keys and master data "
            "shared by every department; give a department to an hr, manager or viewer key",
            field="department",
        )
    if department_code is not None:
        dept = session.scalar(select(Department).where(Department.code == department_code))
        if dept is None:
            raise NotFound(f"no department {department_code!r}", field="department")
        department_id = dept.id
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        role=role.value,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        department_id=department_id,
        created_at=now,
    )
    session.add(key)
    session.flush()
    return NewKey(key=key, token=f"{KEY_PREFIX}_{prefix}_{secret}")


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """The live key a token proved: who it is and what it may do."""

    id: int
    name: str
    role: str
    department_id: int | None
    last_used_at: datetime | None


_KEYS = ApiKey.__table__.c
# Columns, not the entity: every API request authenticates, and loading an ORM object
# costs more than the query.
_LOOKUP = select(
    _KEYS.id,
    _KEYS.name,
    _KEYS.role,
    _KEYS.department_id,
    _KEYS.last_used_at,
    _KEYS.secret_hash,
    _KEYS.revoked_at,
).where(_KEYS.prefix == bindparam("prefix"))


def authenticate(session: Session, token: str, *, now: datetime) -> KeyIdentity | None:
    """The live key a token names, or None for a malformed, unknown, wrong or revoked one."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    row = session.connection().execute(_LOOKUP, {"prefix": parts[1]}).first()
    # Hash even when the prefix is unknown so timing does not tell which prefixes exist.
    offered = hash_secret(parts[2])
    stored = row.secret_hash if row is not None else hash_secret("")
    if not hmac.compare_digest(offered, stored) or row is None or row.revoked_at is not None:
        return None
    return KeyIdentity(row.id, row.name, row.role, row.department_id, row.last_used_at)


def touch_due(key: KeyIdentity, now: datetime) -> bool:
    """Whether last_used_at is stale enough to be written again (at most once a minute)."""
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


def touch(session: Session, *, key_id: int, now: datetime) -> None:
    """Record that a key was just used."""
    key = session.get(ApiKey, key_id)
    if key is not None:
        key.last_used_at = now


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """All keys, oldest first."""
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_key(session: Session, *, key_id: int, now: datetime) -> ApiKey:
    """Revoke a key and end its web sessions; revoking twice is refused (the first stays)."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} was already revoked")
    key.revoked_at = now
    uisessions.end_all(session, key_id=key_id)
    return key
