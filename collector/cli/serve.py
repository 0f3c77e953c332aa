"""`punchgate serve`: the service with its API and workers."""

from __future__ import annotations

import typer

from collector.cli.common import console, setup_logging
from collector.days import DaysWorker
from collector.mqtt.workers import mqtt_workers
from collector.poller.worker import TerminalPollerWorker
from collector.retention import RetentionWorker
from collector.runtime import open_store, utcnow
from collector.service import Service, Worker
from collector.settings import get_settings


def serve_command(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port to listen on (default from settings)."),
) -> None:
    """Run the service: migrate, apply the configuration, serve the API, run the workers."""
    settings = get_settings()
    setup_logging(settings)
    store = open_store(settings)
    workers: list[Worker] = [
        TerminalPollerWorker(store),
        DaysWorker(
            store.engine,
            clock=utcnow,
            interval_s=settings.days_interval_s,
            lookback_days=settings.days_lookback,
        ),
        RetentionWorker(store.engine, days=settings.location_retention_days, clock=utcnow),
        *mqtt_workers(store),
    ]
    service = Service(store, workers)
    console.print(
        f"punchgate serving on http://{host or settings.api_host}:{port or settings.api_port}"
    )
    try:
        service.run(host=host or settings.api_host, port=port or settings.api_port)
    finally:
        store.close()
