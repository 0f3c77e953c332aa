"""The service process: the API server plus background workers, started and stopped together."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import uvicorn

from collector.runtime import Store

log = logging.getLogger(__name__)

# The API lives in a package the collector must not import; uvicorn loads it by name.
API_FACTORY = "api.app:create_app"


class Worker(Protocol):
    """A background part of the service (poller, MQTT consumer, recompute loop, emulator)."""

    name: str

    def start(self) -> None:
        """Start in the background and return."""

    def stop(self) -> None:
        """Stop and wait until stopped."""


class Service:
    """Runs the API and the workers until stopped."""

    def __init__(self, store: Store, workers: list[Worker] | None = None) -> None:
        self.store = store
        self.workers: list[Worker] = list(workers or [])
        self._server: uvicorn.Server | None = None
        self.started = threading.Event()

    def run(self, *, host: str, port: int, duration: float | None = None) -> None:
        """Serve until interrupted (or for `duration` seconds), then stop every worker."""
        # The app reads the same PUNCHGATE_* settings from the environment as this process.
        config = uvicorn.Config(
            API_FACTORY, factory=True, host=host, port=port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        for worker in self.workers:
            worker.start()
            log.info("started %s", worker.name)
        timer = None
        if duration is not None:
            timer = threading.Timer(duration, self.stop)
            timer.daemon = True
            timer.start()
        watcher = threading.Thread(target=self._watch_started, daemon=True)
        watcher.start()
        try:
            self._server.run()
        finally:
            if timer is not None:
                timer.cancel()
            for worker in reversed(self.workers):
                try:
                    worker.stop()
                except Exception:  # one worker failing to stop must not keep others running
                    log.exception("stopping %s failed", worker.name)

    def _watch_started(self) -> None:
        while self._server is not None and not self._server.started:
            if self._server.should_exit:
                return
            threading.Event().wait(0.05)
        self.started.set()

    def stop(self) -> None:
        """Ask the server to exit; run() returns once workers have stopped."""
        if self._server is not None:
            self._server.should_exit = True
