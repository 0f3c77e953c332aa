"""The HR web pages under /ui: server-rendered, cookie-authenticated, in English and Chinese."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.ui import (
    app_devices,
    devices,
    employee,
    lateness,
    punches,
    quarantine,
    signin,
    today,
)
from api.ui.render import render
from api.ui.session import SIGN_IN, PageError, SignInRequired


def install(app: FastAPI) -> None:
    """Add the page routes and the handlers that answer refusals as pages."""
    for module in (signin, today, lateness, employee, app_devices, punches, devices, quarantine):
        app.include_router(module.router)

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(f"{SIGN_IN}?next={quote(exc.next_path, safe='')}", 303)

    async def as_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return render(request, "error.html", None, status=exc.status, message=exc.message)

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(PageError, as_page)
