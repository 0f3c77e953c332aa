"""The employee's punch app under /app: an installable web app authenticated by a bound phone."""

from __future__ import annotations

from fastapi import FastAPI

from api.phone import routes, shell


def install(app: FastAPI) -> None:
    """Add the app's routes (pages, static shell and its JSON endpoints)."""
    app.include_router(shell.router)
    app.include_router(routes.router)
