"""Signing in with an API key and out again, the way in, and the stylesheet (all open)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import StoreDep
from api.ui.render import render
from api.ui.session import (
    COOKIE,
    ViewerPage,
    check_csrf,
    current,
    new_session,
    set_cookie,
)
from collector.apikeys import authenticate
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
HOME = "/ui/today"


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute or scheme-relative URL (open redirect).
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return HOME


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, store: StoreDep, next: str | None = None) -> Response:
    """The sign-in form; it starts a key-less session that carries the CSRF token."""
    session = current(request, store) or new_session(None)
    response = render(
        request, "sign_in.html", None, csrf=session.csrf, next=_safe_next(next), error=None
    )
    set_cookie(response, request, store, session)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    store: StoreDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Check the key; on success the session holds it (and a fresh CSRF token)."""
    check_csrf(current(request, store), csrf)
    with store.sessions.begin() as s:
        key = authenticate(s, api_key.strip(), now=utcnow())
    response: Response
    if key is None:
        session = new_session(None)
        response = render(
            request,
            "sign_in.html",
            None,
            status=401,
            csrf=session.csrf,
            next=_safe_next(next),
            error="bad_key",
        )
    else:
        session = new_session(api_key.strip())
        response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, request, store, session)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, viewer: ViewerPage, store: StoreDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Forget the session."""
    check_csrf(current(request, store), csrf)
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
