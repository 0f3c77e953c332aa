"""The web pages' session: a signed, http-only cookie holding the API key and a CSRF token.

Pages authenticate with this cookie only (never a bearer header), and every page route
declares its least role with a `UiRequirement`, the cookie twin of `api.auth.Requirement`,
so the access test walks the pages with the same rule table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from api.auth import Principal
from api.deps import SessionDep, StoreDep
from collector.apikeys import Role, authenticate, touch, touch_due
from collector.runtime import Store, utcnow

COOKIE = "punchgate_session"
MAX_AGE_S = 12 * 3600
SIGN_IN = "/ui/sign-in"
# Without a configured secret, one per process: sessions end when the service restarts.
_PROCESS_SECRET = secrets.token_bytes(32)


class SignInRequired(Exception):
    """No valid session: the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """A refusal shown as an HTML page (too weak a role, a bad CSRF token, not found)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class SessionData:
    """What the cookie carries: the API key (None before sign-in) and the CSRF token."""

    key: str | None
    csrf: str


def secret_of(store: Store) -> bytes:
    """The signing secret: the configured one, else this process's random one."""
    configured = store.settings.ui_secret
    return configured.get_secret_value().encode() if configured else _PROCESS_SECRET


def encode(secret: bytes, data: SessionData) -> str:
    """The cookie value: base64 JSON and its HMAC-SHA256 signature."""
    # Unpadded: '=' would make the cookie a quoted string.
    body = base64.urlsafe_b64encode(json.dumps({"k": data.key, "c": data.csrf}).encode()).rstrip(
        b"="
    )
    sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return f"{body.decode()}.{sig}"


def decode(secret: bytes, value: str | None) -> SessionData | None:
    """The session a cookie value holds, or None when absent, malformed or forged."""
    if not value or "." not in value:
        return None
    body, sig = value.rsplit(".", 1)
    expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        key, csrf = data["k"], data["c"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(csrf, str) or not (key is None or isinstance(key, str)):
        return None
    return SessionData(key=key, csrf=csrf)


def current(request: Request, store: Store) -> SessionData | None:
    """The request's session, if its cookie is genuine."""
    return decode(secret_of(store), request.cookies.get(COOKIE))


def set_cookie(response: Response, request: Request, store: Store, data: SessionData) -> None:
    """Write the session cookie: http-only, SameSite=Lax, secure when served over https."""
    response.set_cookie(
        COOKIE,
        encode(secret_of(store), data),
        max_age=MAX_AGE_S,
        path="/ui",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )


def new_session(key: str | None) -> SessionData:
    """A fresh session with a new CSRF token."""
    return SessionData(key=key, csrf=secrets.token_urlsafe(24))


def check_csrf(session: SessionData | None, token: str | None) -> None:
    """Refuse a form whose hidden token does not match the session's."""
    if session is None or not token or not hmac.compare_digest(session.csrf, token):
        raise PageError(403, "the form has expired or did not come from this site; reload it")


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in page visitor: the key's principal and the session's CSRF token."""

    principal: Principal
    csrf: str

    @property
    def role(self) -> Role:
        """The key's role."""
        return self.principal.role


class UiRequirement:
    """A dependency that admits sessions whose key has at least `role`."""

    def __init__(self, role: Role) -> None:
        self.role = role

    def __call__(self, request: Request, store: StoreDep, session: SessionDep) -> Viewer:
        """Authenticate the session cookie's key and check its role."""
        data = current(request, store)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if data is None or data.key is None:
            raise SignInRequired(target)
        now = utcnow()
        key = authenticate(session, data.key, now=now)
        if key is None:
            raise SignInRequired(target)
        if touch_due(key, now):
            with store.sessions.begin() as writer:
                touch(writer, key_id=key.id, now=now)
        principal = Principal(
            key_id=key.id, name=key.name, role=Role(key.role), department_id=key.department_id
        )
        if not principal.role.allows(self.role):
            raise PageError(403, f"this page needs a key with role {self.role.value} or higher")
        return Viewer(principal=principal, csrf=data.csrf)


ViewerPage = Annotated[Viewer, Depends(UiRequirement(Role.VIEWER))]
HrPage = Annotated[Viewer, Depends(UiRequirement(Role.HR))]
