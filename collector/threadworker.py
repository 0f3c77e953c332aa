"""The loop-in-a-thread shape most background workers share."""

from __future__ import annotations

import threading


class ThreadWorker:
    """A worker whose `_run` loops in a daemon thread until `_stop` is set."""

    name: str
    join_timeout_s = 30.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run `_run` in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask `_run` to end and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_s)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError
