"""Refusals under /ui as pages: the navigation and the signed-in user, never raw JSON.

The API's handlers (api.problems) stay the one mapping from an error to a status and a
problem document; for a path under /ui the document they built is shown as a page
instead. So an invalid form field, an unknown /ui path, a conflict or a store outage
reads the same on the pages as in the API, only in HTML.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.ui.render import render
from api.ui.session import PageError, Viewer, cookie_id, viewer_for
from collector import uisessions
from collector.runtime import utcnow

log = logging.getLogger(__name__)
PAGES = "/ui"
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_page(request: Request) -> bool:
    """Whether the request is for a page (its refusals are pages too)."""
    path = request.url.path
    return path == PAGES or path.startswith(PAGES + "/")


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in visitor, if the cookie names a live session (never raises)."""
    session_id = cookie_id(request)
    if session_id is None:
        return None
    store = request.app.state.store
    try:
        with store.sessions() as s:
            live = uisessions.resume(
                s, session_id, now=utcnow(), limits=uisessions.Limits.of(store.settings)
            )
    except Exception:  # the store may be the very thing that failed: show the page anyway
        log.debug("no session for an error page", exc_info=True)
        return None
    return None if live is None else viewer_for(live, session_id)


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error page: the status's title, the message, each invalid field."""
    page = render(
        request,
        "error.html",
        viewer_of(request),
        status=status,
        code=status,
        message=message,
        errors=errors or [],
    )
    for name, value in (headers or {}).items():
        page.headers[name] = value
    return page


def _as_page(handler: Handler) -> Handler:
    # The API's handler decides status and words; a page request gets them as HTML.
    async def handle(request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        if not is_page(request) or not answer.media_type or "json" not in answer.media_type:
            return answer
        problem = json.loads(bytes(answer.body))
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("retry-after", "allow")}
        return error_page(
            request,
            answer.status_code,
            problem.get("detail") or problem.get("title", ""),
            errors=problem.get("errors"),
            headers=kept,
        )

    return handle


def install(app: FastAPI) -> None:
    """Show every refusal under /ui as a page; call after api.problems.install."""
    for kind, handler in list(app.exception_handlers.items()):
        if isinstance(kind, type):
            app.add_exception_handler(kind, _as_page(handler))

    async def as_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return error_page(request, exc.status, exc.message)

    app.add_exception_handler(PageError, as_page)
