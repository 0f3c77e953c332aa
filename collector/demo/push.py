"""The demo's push-mode face terminal: a simulator posting to the demo's own API."""

from __future__ import annotations

import threading

from collector.demo.seed import Walkers
from devices.zk.push.simulator import PushTerminalSimulator

DEMO_SERIAL = "PGDEMO0001"  # the serial of the push device in demo.toml


class PushTerminalWorker:
    """Runs a simulated push terminal in a thread, people punching on it in office hours."""

    def __init__(self, port: int, walkers: Walkers, *, interval: float = 3.0) -> None:
        self.name = f"push terminal {DEMO_SERIAL}"
        self.sim = PushTerminalSimulator(
            f"http://127.0.0.1:{port}",
            DEMO_SERIAL,
            timezone="Europe/Berlin",
            max_attempts=None,
        )
        self.walkers = walkers
        self.interval = interval
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the terminal's loop, and the people at its door, in the background."""
        self._threads = [
            threading.Thread(
                target=self.sim.run,
                kwargs={"interval": self.interval},
                name=self.name,
                daemon=True,
            ),
            threading.Thread(target=self._people, name=f"{self.name} door", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _people(self) -> None:
        # About one punch in three beats, as the simulator's own loop would make.
        while not self.sim.stopping.wait(self.interval * 3):
            punch = self.walkers.next_punch(self.sim.local_now())
            if punch is not None:
                self.sim.punch(punch[0], status=punch[1])

    def stop(self) -> None:
        """Stop the loops and wait for them."""
        self.sim.stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)


def push_workers(port: int, walkers: Walkers) -> list[PushTerminalWorker]:
    """The demo's push terminal workers."""
    return [PushTerminalWorker(port, walkers)]
