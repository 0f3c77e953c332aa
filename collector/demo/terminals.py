"""The demo's emulated terminals (ZK fingerprint over TCP, ZK face over UDP, a Hikvision face
terminal over ISAPI) and their poller."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update

from collector.demo.seed import Walkers, demo_employees, door_day
from collector.poller.worker import TerminalPollerWorker
from collector.runtime import Store
from collector.service import Worker
from collector.store.models import Device
from devices.hikvision.emulator import HikEmulator, HikTerminal
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


# The Hikvision door: its code and port in demo.toml, and the ISAPI login the emulator wants.
HIK_DOOR = ("door-hik", 18080)
HIK_PASSWORD = "demo-hik-2026"  # the emulator's login; sealed into the device row at start


def _verify(terminal: Terminal) -> int:
    return FACE if terminal.spec.record_size == 40 else FINGERPRINT


def _punch(door: Terminal | HikTerminal, code: str, state: int, when: datetime | None) -> None:
    """A face or finger at a door: `state` 0 in, 1 out; `when` naive local time (None: now)."""
    if isinstance(door, HikTerminal):
        status = "checkIn" if state == 0 else "checkOut"
        door.add_event(when or door.now(), minor=75, employee=code, status=status)
    else:
        door.punch(code, state=state, verify=_verify(door), when=when)


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
    hik: HikTerminal = field(
        default_factory=lambda: HikTerminal(
            password=HIK_PASSWORD,
            timezone="Europe/Berlin",
            serial_number="DS-K1T671MF20260101V031000ENDEMO0001",
        )
    )
    hik_server: HikEmulator | None = None
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
        self._start_hik()
        self._seed_today()
        self._thread = threading.Thread(target=self._run, name="demo-doors", daemon=True)
        self._thread.start()

    def _start_hik(self) -> None:
        code, port = HIK_DOOR
        try:
            self.hik_server = HikEmulator(self.hik, port)
        except OSError:  # the usual port is taken: a free one, told to the device row
            self.hik_server = HikEmulator(self.hik, 0)
        self.hik_server.start()
        # The password is sealed here rather than written in demo.toml (the demo applies
        # that file without a secret box).
        sealed = self.store.box.seal(HIK_PASSWORD)
        with self.store.sessions.begin() as session:
            session.execute(
                update(Device)
                .where(Device.code == code)
                .values(port=self.hik_server.port, comm_key_secret=sealed)
            )

    def _doors(self) -> list[Terminal | HikTerminal]:
        return [*self.terminals, self.hik]

    def _seed_today(self) -> None:
        # Today's arrivals and departures up to now, each person at one of the doors.
        now = self.terminals[0].now()
        doors = self._doors()
        for code, arrive, leave in door_day(now.date(), seed=3):
            door = doors[int(code) % len(doors)]
            for when, state in ((arrive, 0), (leave, 1)):
                if when <= now:
                    _punch(door, code, state, when)
                    self.walkers.saw(code, state)

    def _run(self) -> None:
        rng = random.Random(7)
        while not self._stop.wait(rng.uniform(0.5, 1.5) * self.every_s):
            door = rng.choice(self._doors())
            punch = self.walkers.next_punch(self.terminals[0].now())
            if punch is not None:
                _punch(door, punch[0], punch[1], None)

    def stop(self) -> None:
        """Stop punching and close the ports."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.host.stop()
        if self.hik_server is not None:
            self.hik_server.stop()


def demo_terminal_workers(store: Store, walkers: Walkers) -> list[Worker]:
    """The emulated doors first, then the poller reading them."""
    return [DemoTerminals(store, walkers), TerminalPollerWorker(store)]
