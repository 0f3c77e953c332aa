"""Signing in with an API key and out again, the way in, the stylesheet and icon (all open)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import StoreDep
from api.ui.render import render
from api.ui.session import COOKIE, ViewerPage, check_csrf, cookie_id, csrf_of, set_cookie
from collector import uisessions
from collector.apikeys import authenticate
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
icon_router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
HOME = "/ui/today"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute or scheme-relative URL (open redirect).
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return HOME


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, store: StoreDep, next: str | None = None) -> Response:
    """The sign-in form; a cookie with a key-less id (no row) carries its CSRF token."""
    session_id = cookie_id(request) or uisessions.new_id()
    response = render(
        request,
        "sign_in.html",
        None,
        csrf=uisessions.csrf_token(session_id),
        next=_safe_next(next),
        error=None,
    )
    set_cookie(response, request, store, session_id)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    store: StoreDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Check the key; on success a new server-side session starts under a new id."""
    previous = cookie_id(request)
    check_csrf(csrf_of(previous), csrf)
    now = utcnow()
    session_id: str | None = None
    with store.sessions.begin() as s:
        # Whatever the outcome, a session this browser held before ends here: its cookie
        # is replaced below, and a row no browser holds would only linger until expiry.
        if previous is not None:
            uisessions.end(s, previous)
        key = authenticate(s, api_key.strip(), now=now)
        if key is not None:
            # A new id every time, never the one the form came with (session fixation).
            session_id = uisessions.start(
                s,
                key_id=key.id,
                now=now,
                limits=uisessions.Limits.of(store.settings),
                user_agent=request.headers.get("user-agent"),
            )
    response: Response
    if session_id is None:
        session_id = uisessions.new_id()
        response = render(
            request,
            "sign_in.html",
            None,
            status=401,
            csrf=uisessions.csrf_token(session_id),
            next=_safe_next(next),
            error="bad_key",
        )
    else:
        response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, request, store, session_id)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, viewer: ViewerPage, store: StoreDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """End the session on the server (a copy of the cookie stops working too)."""
    viewer.check_csrf(csrf)
    session_id = cookie_id(request)
    if session_id is not None:
        with store.sessions.begin() as s:
            uisessions.end(s, session_id)
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("")
def home(_: ViewerPage) -> Response:
    """The pages start at Today."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/static/style.css")
def stylesheet() -> Response:
    """The one stylesheet, served by the app (no CDN)."""
    return FileResponse(STATIC / "style.css", media_type="text/css")


@icon_router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The pages' icon, where browsers look for it (an SVG: every current browser takes one)."""
    return FileResponse(
        STATIC / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
