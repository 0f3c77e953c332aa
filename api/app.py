"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health, iclock, punches
from collector.runtime import Store, open_store
from collector.settings import Settings, get_settings


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the app; without a store it opens one from settings at start-up."""
    owned = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.store is None:
            app.state.store = open_store(settings or get_settings())
        yield
        if owned:
            app.state.store.close()

    app = FastAPI(title="punchgate", version="0.1.0", lifespan=lifespan)
    app.state.store = store
    app.include_router(health.router)
    app.include_router(punches.router)
    app.include_router(iclock.router)
    return app
