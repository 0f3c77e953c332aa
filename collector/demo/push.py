"""The demo's push-mode face terminal: a simulator posting to the demo's own API."""

from __future__ import annotations

import threading

from devices.zk.push.simulator import PushTerminalSimulator

DEMO_SERIAL = "PGDEMO0001"  # the serial of the push device in demo.toml
DEMO_PINS = [str(1001 + i) for i in range(20)]


class PushTerminalWorker:
    """Runs a simulated push terminal in a thread, as a service worker."""

    def __init__(self, port: int, *, interval: float = 3.0) -> None:
        self.name = f"push terminal {DEMO_SERIAL}"
        self.sim = PushTerminalSimulator(
            f"http://127.0.0.1:{port}",
            DEMO_SERIAL,
            timezone="Europe/Berlin",
            max_attempts=None,
        )
        self.interval = interval
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the terminal's loop in the background."""
        self._thread = threading.Thread(
            target=self.sim.run,
            kwargs={"interval": self.interval, "pins": DEMO_PINS},
            name=self.name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and wait for it."""
        self.sim.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def push_workers(port: int) -> list[PushTerminalWorker]:
    """The demo's push terminal workers."""
    return [PushTerminalWorker(port)]
