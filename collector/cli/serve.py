"""`punchgate serve`: the service with its API and workers, on one store."""

from __future__ import annotations

from collections.abc import Callable

import typer

from collector.cli.common import console, setup_logging
from collector.days import DaysWorker
from collector.mqtt.workers import mqtt_workers
from collector.outbound.worker import OutboxWorker
from collector.poller.worker import TerminalPollerWorker
from collector.retention import RetentionWorker
from collector.runtime import open_store, utcnow
from collector.service import Service, WebApp, Worker
from collector.settings import get_settings


def serve_command(web: WebApp) -> Callable[..., None]:
    """The `serve` command, serving the API that `web` builds on the command's store."""

    def serve(
        host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
        port: int | None = typer.Option(None, help="Port to listen on (default from settings)."),
    ) -> None:
        """Run the service: migrate, apply the configuration, serve the API, run the workers."""
        settings = get_settings()
        setup_logging(settings)
        # The one store of the process: the API and every worker share its pool.
        store = open_store(settings)
        try:
            workers: list[Worker] = [
                TerminalPollerWorker(store),
                DaysWorker(
                    store.engine,
                    clock=utcnow,
                    interval_s=settings.days_interval_s,
                    lookback_days=settings.days_lookback,
                ),
                RetentionWorker(
                    store.engine,
                    days=settings.location_retention_days,
                    dismissed_days=settings.quarantine_dismissed_retention_days,
                    outbox_days=settings.outbox_retention_days,
                    clock=utcnow,
                ),
            ]
            if settings.outbox_enabled:
                workers.append(OutboxWorker(store))
            workers += mqtt_workers(store)
            service = Service(web(store), workers)
            bind_host, bind_port = host or settings.api_host, port or settings.api_port
            # Serving creates and migrates a missing database: say which one it is.
            console.print(
                f"punchgate serving on http://{bind_host}:{bind_port}"
                f" (database {settings.database_url_safe()})"
            )
            service.run(host=bind_host, port=bind_port)
        finally:
            store.close()

    return serve
