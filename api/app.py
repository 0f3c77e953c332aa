"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import phone, problems, ui
from api.limits import BodySizeLimit
from api.routes import (
    agents,
    app_devices,
    device_commands,
    devices,
    employees,
    health,
    hikvision,
    iclock,
    keys,
    leave,
    operations,
    org,
    outbound,
    periods,
    policies,
    punches,
    quarantine,
    reports,
    requests,
    rosters,
    ui_sessions,
)
from collector.push import uploads
from collector.quarantine import register_reparser
from collector.runtime import Store, open_store
from collector.settings import Settings, get_settings
from rules.vocabulary import SourceKind


def freeze_startup_objects() -> None:
    """Keep what start-up built out of the collector's full passes (a serving process).

    Modules, routes, schemas and caches live as long as the process, yet every full
    collection walked them all: ~190,000 objects, 80-130 ms with every request paused,
    which was the punch page's p99 under load. openpyxl is imported first because an
    export would otherwise add its modules after the freeze.
    """
    import openpyxl  # noqa: F401

    gc.collect()
    gc.freeze()


def install_reparsers() -> None:
    """Let HR replay quarantined push lines with today's parser (after a parser fix)."""
    register_reparser(SourceKind.PUSH, uploads.reparse)


def create_app(
    settings: Settings | None = None, store: Store | None = None, *, freeze: bool = False
) -> FastAPI:
    """Build the app on `store`, or, without one, on a store it opens at start-up.

    `punchgate serve` and `demo` pass the process's one store (api.main). Without one the
    app is an API-only process under an external ASGI server (`uvicorn --factory
    api.app:create_app`, perhaps with several workers) beside a `punchgate serve`, which
    migrates and applies the configuration: such a process does neither. `freeze` (always
    so without a store) freezes start-up objects once started: serving processes, not tests.
    """
    owned = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            app.state.store = open_store(settings or get_settings(), migrate=False, apply=False)
        if owned or freeze:  # a serving process (api.main, or uvicorn --factory)
            install_reparsers()
            freeze_startup_objects()
        yield
        if owned:
            app.state.store.close()

    # The schema is served by an authenticated route (operations.openapi), not FastAPI's own.
    app = FastAPI(
        title="punchgate",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    problems.install(app)
    app.add_middleware(BodySizeLimit)
    for module in (
        health,
        iclock,
        hikvision,
        operations,
        org,
        employees,
        devices,
        device_commands,
        policies,
        keys,
        leave,
        outbound,
        punches,
        quarantine,
        reports,
        periods,
        rosters,
        requests,
        ui_sessions,
        app_devices,
        agents,
    ):
        app.include_router(module.router)
    ui.install(app)
    phone.install(app)
    return app
