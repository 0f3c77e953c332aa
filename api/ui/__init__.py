"""The HR web pages under /ui: server-rendered, cookie-authenticated, in English and Chinese."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.ui import (
    apidocs,
    app_devices,
    devices,
    employee,
    errors,
    lateness,
    periods,
    punches,
    quarantine,
    requests,
    roster,
    signin,
    today,
)
from api.ui.session import SIGN_IN, SignInRequired


def install(app: FastAPI) -> None:
    """Add the page routes and the handlers that answer refusals as pages."""
    for module in (
        signin,
        today,
        lateness,
        employee,
        app_devices,
        roster,
        punches,
        devices,
        quarantine,
        requests,
        periods,
    ):
        app.include_router(module.router)
    app.include_router(signin.icon_router)
    app.include_router(apidocs.router)

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(f"{SIGN_IN}?next={quote(exc.next_path, safe='')}", 303)

    app.add_exception_handler(SignInRequired, to_sign_in)
    errors.install(app)
