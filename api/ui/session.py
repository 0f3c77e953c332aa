"""The web pages' session: an http-only cookie holding a random session id, nothing else.

The session itself lives on the server (`collector.uisessions`): the key it was opened
with, its idle and absolute expiry. The cookie carries no key and no signed data, so a
copied cookie works only as long as the server keeps its session, which signing out,
signing out everywhere, revoking the key and expiry all end. Forms carry a CSRF token
derived from the id.

Pages authenticate with this cookie only (never a bearer header), and every page route
declares its least role with a `UiRequirement`, the cookie twin of `api.auth.Requirement`,
so the access test walks the pages with the same rule table.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from api.auth import Principal
from api.deps import SessionDep, StoreDep
from collector import uisessions
from collector.apikeys import Role, granted_role
from collector.runtime import Store, utcnow

COOKIE = "punchgate_session"
SIGN_IN = "/ui/sign-in"


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


def cookie_id(request: Request) -> str | None:
    """The session id the request's cookie holds, if it could be one of ours."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > uisessions.TOKEN_MAX:
        return None
    return value


def set_cookie(response: Response, request: Request, store: Store, session_id: str) -> None:
    """Write the session cookie: http-only, SameSite=Lax, secure when served over https."""
    response.set_cookie(
        COOKIE,
        session_id,
        # Only a hint to the browser: the server ends the session on its own.
        max_age=store.settings.ui_session_max_s,
        path="/ui",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )


def csrf_of(session_id: str | None) -> str | None:
    """The CSRF token of the session (or key-less sign-in id) a cookie holds."""
    return None if session_id is None else uisessions.csrf_token(session_id)


def check_csrf(expected: str | None, token: str | None) -> None:
    """Refuse a form whose hidden token is not the one derived from the session's id."""
    if expected is None or not token or not hmac.compare_digest(expected, token):
        raise PageError(403, "the form has expired or did not come from this site; reload it")


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in page visitor: the key's principal and the session's CSRF token.

    It holds no session id: the pages render the viewer, and the id stays in the cookie.
    """

    principal: Principal
    csrf: str

    @property
    def role(self) -> Role:
        """The key's role."""
        return self.principal.role

    def check_csrf(self, token: str | None) -> None:
        """Refuse a form that does not carry this session's token."""
        check_csrf(self.csrf, token)


class UiRequirement:
    """A dependency that admits live sessions whose key has at least `role`."""

    def __init__(self, role: Role) -> None:
        self.role = role

    def __call__(self, request: Request, store: StoreDep, session: SessionDep) -> Viewer:
        """Resume the cookie's session on the server and check its key's role."""
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        session_id = cookie_id(request)
        now = utcnow()
        live = uisessions.resume(
            session, session_id, now=now, limits=uisessions.Limits.of(store.settings)
        )
        if live is None or session_id is None:
            raise SignInRequired(target)
        if uisessions.touch_due(live, now):
            with store.sessions.begin() as writer:
                uisessions.touch(writer, live, now=now)
        viewer = viewer_for(live, session_id)
        if not viewer.role.allows(self.role):
            raise PageError(403, f"this page needs a key with role {self.role.value} or higher")
        return viewer


def viewer_for(live: uisessions.LiveSession, session_id: str) -> Viewer:
    """The visitor a live session stands for: its key's principal and the CSRF token."""
    principal = Principal(
        key_id=live.key_id,
        name=live.name,
        role=granted_role(live.role, live.department_id),
        department_id=live.department_id,
    )
    return Viewer(principal=principal, csrf=uisessions.csrf_token(session_id))


ViewerPage = Annotated[Viewer, Depends(UiRequirement(Role.VIEWER))]
ManagerPage = Annotated[Viewer, Depends(UiRequirement(Role.MANAGER))]
HrPage = Annotated[Viewer, Depends(UiRequirement(Role.HR))]
AdminPage = Annotated[Viewer, Depends(UiRequirement(Role.ADMIN))]
