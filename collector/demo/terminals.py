"""The demo's two emulated terminals (fingerprint over TCP, face over UDP) and their poller."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from sqlalchemy import update

from collector.demo.seed import Walkers, demo_employees, door_day
from collector.poller.worker import TerminalPollerWorker
from collector.runtime import Store
from collector.service import Worker
from collector.store.models import Device
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import FACE, FINGERPRINT
from devices.zk.records import ZKUser

# Ports and transports match collector/demo/demo.toml.
DOORS = {
    "door-fp": (
        14370,
        TerminalSpec(
            name="door-fp",
            record_size=16,
            device_name="Front door",
            serial="DEMOFP000001",
            timezone="Europe/Berlin",
        ),
    ),
    "door-face": (
        14371,
        TerminalSpec(
            name="door-face",
            record_size=40,
            device_name="Side door",
            serial="DEMOFACE0001",
            platform="ZAM180_TFT",
            timezone="Europe/Berlin",
        ),
    ),
}


def _verify(terminal: Terminal) -> int:
    return FACE if terminal.spec.record_size == 40 else FINGERPRINT


@dataclass
class DemoTerminals:
    """Runs the emulated doors with today's punches so far, then people walking past them.

    Doors only see people during office hours, and each person's punches alternate in and
    out, as at a real office door.
    """

    store: Store
    walkers: Walkers
    every_s: float = 5.0
    name: str = "demo-terminals"
    host: EmulatorHost = field(default_factory=EmulatorHost)
    terminals: list[Terminal] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the doors' ports, enrol the demo's people and start punching."""
        self.host.start()
        people = [
            ZKUser(uid=i + 1, user_id=e.code, name=e.name) for i, e in enumerate(demo_employees())
        ]
        for port, spec in DOORS.values():
            terminal = Terminal(spec, people)
            try:
                self.host.add(terminal, port)
            except OSError:
                # Another demo (or anything) holds the usual port: take a free one and tell
                # the device row, which the poller and `punchgate sync` read.
                bound = self.host.add(terminal, 0)
                with self.store.sessions.begin() as session:
                    session.execute(
                        update(Device).where(Device.code == spec.name).values(port=bound)
                    )
            self.terminals.append(terminal)
        self._seed_today()
        self._thread = threading.Thread(target=self._run, name="demo-doors", daemon=True)
        self._thread.start()

    def _seed_today(self) -> None:
        # Today's arrivals and departures up to now, each person at one of the doors.
        now = self.terminals[0].now()
        for code, arrive, leave in door_day(now.date(), seed=3):
            door = self.terminals[int(code) % len(self.terminals)]
            for when, state in ((arrive, 0), (leave, 1)):
                if when <= now:
                    door.punch(code, state=state, verify=_verify(door), when=when)
                    self.walkers.saw(code, state)

    def _run(self) -> None:
        rng = random.Random(7)
        while not self._stop.wait(rng.uniform(0.5, 1.5) * self.every_s):
            door = rng.choice(self.terminals)
            punch = self.walkers.next_punch(door.now())
            if punch is not None:
                door.punch(punch[0], state=punch[1], verify=_verify(door))

    def stop(self) -> None:
        """Stop punching and close the ports."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.host.stop()


def demo_terminal_workers(store: Store, walkers: Walkers) -> list[Worker]:
    """The emulated doors first, then the poller reading them."""
    return [DemoTerminals(store, walkers), TerminalPollerWorker(store)]
