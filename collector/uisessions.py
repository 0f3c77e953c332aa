"""The web pages' sessions, kept on the server: the cookie holds only a random id.

Signing in stores sha256(id) with the key it proved, the creation time, the time last
seen, an absolute expiry and the browser's user agent. Every page request looks the hash
up together with its key, and refuses a session past its absolute expiry, idle for longer
than the idle limit, or whose key is revoked. Signing out, signing out everywhere and
revoking a key delete the rows, so a copied cookie stops working at once.

The id has 256 bits of entropy, so a fast hash is enough (as for API keys). The pages'
CSRF token is derived from the id with HMAC, so it needs no column and shows nothing of
the id; before sign-in the cookie holds an id with no row, which only carries that token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from collector.errors import NotFound
from collector.settings import Settings
from collector.store.models import ApiKey, UiSession

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
USER_AGENT_MAX = 200
TOKEN_MAX = 64  # a cookie id longer than this is not one of ours (ids are 43 characters)
_CSRF_LABEL = b"punchgate ui csrf"


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a session lives: since its last request, and at most since sign-in."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings give."""
        return cls(
            idle=timedelta(seconds=settings.ui_session_idle_s),
            absolute=timedelta(seconds=settings.ui_session_max_s),
        )


def new_id() -> str:
    """A fresh random session id (also the key-less id a sign-in form is given)."""
    return secrets.token_urlsafe(32)


def hash_id(session_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of the session whose id this is (the id cannot be read back from it)."""
    digest = hmac.new(session_id.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _expired(limits: Limits, now: datetime) -> ColumnElement[bool]:
    # The rows no request may resume any more.
    return or_(UiSession.expires_at <= now, UiSession.last_seen_at <= now - limits.idle)


def start(
    session: Session, *, key_id: int, now: datetime, limits: Limits, user_agent: str | None
) -> str:
    """Open a session for a key that has just proved itself; returns the cookie's id.

    Expired rows of every key are removed on the way, so the table holds live sessions
    plus those that expired since the last sign-in.
    """
    session.execute(delete(UiSession).where(_expired(limits, now)))
    session_id = new_id()
    session.add(
        UiSession(
            id_hash=hash_id(session_id),
            key_id=key_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + limits.absolute,
            user_agent=(user_agent or "")[:USER_AGENT_MAX],
        )
    )
    session.flush()
    return session_id


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A session a request may resume, and the live key it belongs to."""

    id: int
    last_seen_at: datetime
    key_id: int
    name: str
    role: str
    department_id: int | None
    key_last_used_at: datetime | None


_S = UiSession.__table__.c
_K = ApiKey.__table__.c
# Columns, not entities: every page request runs this.
_RESUME = (
    select(
        _S.id,
        _S.last_seen_at,
        _S.expires_at,
        _K.id.label("key_id"),
        _K.name,
        _K.role,
        _K.department_id,
        _K.last_used_at,
        _K.revoked_at,
    )
    .join_from(UiSession.__table__, ApiKey.__table__, _S.key_id == _K.id)
    .where(_S.id_hash == bindparam("id_hash"))
)


def resume(
    session: Session, session_id: str | None, *, now: datetime, limits: Limits
) -> LiveSession | None:
    """The live session a cookie's id names, or None: unknown, ended, expired or revoked."""
    if not session_id or len(session_id) > TOKEN_MAX:
        return None
    row = session.connection().execute(_RESUME, {"id_hash": hash_id(session_id)}).first()
    if row is None or row.revoked_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= limits.idle:
        return None
    return LiveSession(
        id=row.id,
        last_seen_at=row.last_seen_at,
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        department_id=row.department_id,
        key_last_used_at=row.last_used_at,
    )


def touch_due(live: LiveSession, now: datetime) -> bool:
    """Whether the session's last-seen time (or its key's last use) is stale enough to write."""
    key_stale = live.key_last_used_at is None or now - live.key_last_used_at >= TOUCH_EVERY
    return key_stale or now - live.last_seen_at >= TOUCH_EVERY


def touch(session: Session, live: LiveSession, *, now: datetime) -> None:
    """Record that the session (and so its key) was just used."""
    session.execute(update(UiSession).where(UiSession.id == live.id).values(last_seen_at=now))
    session.execute(update(ApiKey).where(ApiKey.id == live.key_id).values(last_used_at=now))


def end(session: Session, session_id: str) -> bool:
    """Sign out: forget the session this id names; False when there was none."""
    result = session.execute(delete(UiSession).where(UiSession.id_hash == hash_id(session_id)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_one(session: Session, *, row_id: int) -> UiSession:
    """End one session by its listed id (an admin's sign-out of someone else's browser)."""
    row = session.get(UiSession, row_id)
    if row is None:
        raise NotFound(f"no web session {row_id}")
    session.delete(row)
    session.flush()
    return row


def end_all(session: Session, *, key_id: int | None = None) -> int:
    """Sign out everywhere: end every session, or every session of one key; how many."""
    query = delete(UiSession)
    if key_id is not None:
        if session.get(ApiKey, key_id) is None:
            raise NotFound(f"no API key {key_id}")
        query = query.where(UiSession.key_id == key_id)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as an admin sees it: never its id or the id's hash."""

    id: int
    key_id: int
    key_name: str
    role: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    idle_expires_at: datetime
    user_agent: str


def list_live(
    session: Session, *, now: datetime, limits: Limits, key_id: int | None = None
) -> list[SessionInfo]:
    """The sessions still live (of one key, or all), oldest first."""
    query = (
        select(UiSession, ApiKey.name, ApiKey.role)
        .join(ApiKey, ApiKey.id == UiSession.key_id)
        .where(~_expired(limits, now), ApiKey.revoked_at.is_(None))
        .order_by(UiSession.id)
    )
    if key_id is not None:
        query = query.where(UiSession.key_id == key_id)
    return [
        SessionInfo(
            id=row.id,
            key_id=row.key_id,
            key_name=name,
            role=role,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            idle_expires_at=row.last_seen_at + limits.idle,
            user_agent=row.user_agent,
        )
        for row, name, role in session.execute(query)
    ]
