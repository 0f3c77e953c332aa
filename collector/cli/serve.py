"""`punchgate serve`: the service with its API and workers."""

from __future__ import annotations

import typer

from collector.cli.common import console, setup_logging
from collector.mqtt.workers import mqtt_workers
from collector.runtime import open_store
from collector.service import Service
from collector.settings import get_settings


def serve_command(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port to listen on (default from settings)."),
) -> None:
    """Run the service: migrate, apply the configuration, serve the API, run the workers."""
    settings = get_settings()
    setup_logging(settings)
    store = open_store(settings)
    service = Service(store, mqtt_workers(store))
    console.print(
        f"punchgate serving on http://{host or settings.api_host}:{port or settings.api_port}"
    )
    try:
        service.run(host=host or settings.api_host, port=port or settings.api_port)
    finally:
        store.close()
