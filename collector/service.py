"""The service process: the API server plus background workers, started and stopped together."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any, Protocol

import uvicorn

from collector.runtime import Store

log = logging.getLogger(__name__)

# An ASGI application: (scope, receive, send). The service runs the API without importing
# it (nothing imports `api`): the composition root, api.main, hands the app in.
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
# Builds the API on the process's one store (serve and demo open it, then call this).
WebApp = Callable[[Store], ASGIApp]


class Worker(Protocol):
    """A background part of the service (poller, MQTT consumer, recompute loop, emulator)."""

    name: str

    def start(self) -> None:
        """Start in the background and return."""

    def stop(self) -> None:
        """Stop and wait until stopped."""


class Service:
    """Runs the API and the workers until stopped."""

    def __init__(self, app: ASGIApp | None, workers: list[Worker] | None = None) -> None:
        self.app = app  # None: a worker-only process (no HTTP role), no server
        self.workers: list[Worker] = list(workers or [])
        self._server: uvicorn.Server | None = None
        self._exit = threading.Event()
        self.started = threading.Event()

    def run(self, *, host: str, port: int, duration: float | None = None) -> None:
        """Serve until interrupted (or for `duration` seconds), then stop every worker."""
        if self.app is not None:
            config = uvicorn.Config(
                self.app, host=host, port=port, log_level="warning", lifespan="on"
            )
            self._server = uvicorn.Server(config)
        with self._stop_on_sigterm():
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
                if self._server is not None:
                    self._server.run()
                else:
                    self.started.set()
                    while not self._exit.wait(0.5):  # a short wait lets signals in
                        pass
            finally:
                if timer is not None:
                    timer.cancel()
                for worker in reversed(self.workers):
                    try:
                        worker.stop()
                    except Exception:  # one worker failing to stop must not keep others running
                        log.exception("stopping %s failed", worker.name)

    @contextlib.contextmanager
    def _stop_on_sigterm(self) -> Iterator[None]:
        # uvicorn handles SIGTERM and SIGINT (Ctrl-C) while it serves, then restores the
        # handlers it found and raises the signal again. Under the default handlers that
        # killed the process (SIGTERM) or printed a KeyboardInterrupt traceback (SIGINT)
        # before the workers stopped and the caller closed the store; here each asks for
        # a stop. A worker-only process has no uvicorn: the same handlers stop it.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, lambda _signum, _frame: self.stop()) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _watch_started(self) -> None:
        if self._server is None:
            return
        while not self._server.started:
            if self._server.should_exit:
                return
            threading.Event().wait(0.05)
        self.started.set()

    def stop(self) -> None:
        """Ask the server to exit; run() returns once workers have stopped."""
        self._exit.set()
        if self._server is not None:
            self._server.should_exit = True
