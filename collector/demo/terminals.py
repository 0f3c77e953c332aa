"""The demo's emulated terminals (ZK fingerprint over TCP, ZK face over UDP, a Hikvision face
terminal over ISAPI, a Dahua face terminal over CGI, a BioTime server with one face terminal)
and their poller."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update

from collector.demo.seed import Walkers, demo_employees, door_day
from collector.poller.worker import TerminalPollerWorker
from collector.runtime import Store
from collector.service import Worker
from collector.store.models import Device
from devices.biotime.emulator import BioTimeEmulator, BioTimeServer
from devices.dahua.emulator import DahuaController, DahuaEmulator
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
    # Read by the demo's site agent, not the central poller (collector/demo/agent.py).
    "door-branch": (
        14372,
        TerminalSpec(
            name="door-branch",
            record_size=16,
            device_name="Branch door",
            serial="DEMOBRANCH01",
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
# The Dahua door and the BioTime server, likewise; the server's one terminal, by serial.
DAHUA_DOOR, DAHUA_PASSWORD = ("door-dahua", 18081), "demo-dahua-2026"
BIOTIME_DOOR, BIOTIME_PASSWORD = ("door-biotime", 18082), "demo-biotime-2026"
BIOTIME_SN = "CQZ7231360001"
Server = HikEmulator | DahuaEmulator | BioTimeEmulator
Door = Terminal | HikTerminal | DahuaController | BioTimeServer


def _verify(terminal: Terminal) -> int:
    return FACE if terminal.spec.record_size == 40 else FINGERPRINT


def _punch(door: Door, code: str, state: int, when: datetime | None) -> None:
    """A face or finger at a door: `state` 0 in, 1 out; `when` naive local time (None: now)."""
    if isinstance(door, HikTerminal):
        status = "checkIn" if state == 0 else "checkOut"
        door.add_event(when or door.now(), minor=75, employee=code, status=status)
    elif isinstance(door, DahuaController):  # AttendanceState 1 sign in, 4 sign out
        door.add_record(when or door.now(), user=code, method=15, state=1 + 3 * state)
    elif isinstance(door, BioTimeServer):
        wall = when or door.terminals[BIOTIME_SN].wall_now()
        door.add_punch(BIOTIME_SN, code, wall, state=str(state))
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
    dahua: DahuaController = field(
        default_factory=lambda: DahuaController(
            password=DAHUA_PASSWORD, timezone="Europe/Berlin", serial_number="7G0DEMO0001"
        )
    )
    biotime: BioTimeServer = field(
        default_factory=lambda: BioTimeServer(password=BIOTIME_PASSWORD, timezone="Europe/Berlin")
    )
    servers: list[Server] = field(default_factory=list)
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
        self.biotime.add_terminal(BIOTIME_SN, timezone="Europe/Berlin", alias="Reception")
        self._serve(HIK_DOOR, HIK_PASSWORD, lambda port: HikEmulator(self.hik, port))
        self._serve(DAHUA_DOOR, DAHUA_PASSWORD, lambda port: DahuaEmulator(self.dahua, port))
        self._serve(BIOTIME_DOOR, BIOTIME_PASSWORD, lambda p: BioTimeEmulator(self.biotime, p))
        self._seed_today()
        self._thread = threading.Thread(target=self._run, name="demo-doors", daemon=True)
        self._thread.start()

    def _serve(self, door: tuple[str, int], password: str, make: Callable[[int], Server]) -> None:
        code, port = door
        try:
            server = make(port)
        except OSError:  # the usual port is taken: a free one, told to the device row
            server = make(0)
        server.start()
        self.servers.append(server)
        # The password is sealed here rather than written in demo.toml (the demo applies
        # that file without a secret box).
        sealed = self.store.box.seal(password)
        with self.store.sessions.begin() as session:
            session.execute(
                update(Device)
                .where(Device.code == code)
                .values(port=server.port, comm_key_secret=sealed)
            )

    def _doors(self) -> list[Door]:
        return [*self.terminals, self.hik, self.dahua, self.biotime]

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
        for server in self.servers:
            server.stop()


def demo_terminal_workers(store: Store, walkers: Walkers) -> list[Worker]:
    """The emulated doors first, then the poller reading them."""
    return [DemoTerminals(store, walkers), TerminalPollerWorker(store)]
