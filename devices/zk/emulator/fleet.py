"""Ready-made emulated terminals and a live-punch generator, for the CLI, the demo and benches."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from devices.zk.emulator.server import EmulatorHost
from devices.zk.emulator.terminal import Faults, Terminal, TerminalSpec
from devices.zk.emulator.traffic import FACE, FINGERPRINT, day_punches, history, make_users
from devices.zk.records import att_record, pack_attendance


@dataclass(frozen=True)
class FleetSpec:
    """Terminals to start: how many, on which ports, with what data and faults."""

    count: int = 1
    port: int = 0  # first port (0: free ports)
    records: int = 1000
    users: int = 50
    seed: int = 42
    spec: TerminalSpec = field(default_factory=TerminalSpec)
    faults: Faults = field(default_factory=Faults)
    skew_minutes: float = 0.0
    reset_clock: bool = False
    impossible_date: bool = False
    first_code: int = 1001


def build_terminal(fleet: FleetSpec, index: int = 0, *, end: date | None = None) -> Terminal:
    """One terminal of a fleet with its seeded history and switches applied."""
    chinese = fleet.spec.encoding.lower() == "gbk"
    users = make_users(fleet.users, first_code=fleet.first_code, chinese=chinese, seed=fleet.seed)
    face = 0.9 if fleet.spec.record_size == 40 else 0.1
    end = end or datetime.now().date() - timedelta(days=1)  # noqa: DTZ005 - emulated local day
    records = (
        history(users, fleet.records, end=end, seed=fleet.seed + index, face_share=face)
        if fleet.records
        else []
    )
    serial = f"{fleet.spec.serial[:-4]}{index + 1:04d}"
    terminal = Terminal(replace(fleet.spec, serial=serial), users, records)
    terminal.faults = replace(fleet.faults)
    if fleet.skew_minutes:
        terminal.skew(fleet.skew_minutes)
    if fleet.reset_clock:
        terminal.reset_clock()
    if fleet.impossible_date:
        terminal.add_impossible_record()
    return terminal


def start_fleet(host: EmulatorHost, fleet: FleetSpec) -> dict[int, Terminal]:
    """Start `fleet.count` terminals on consecutive ports (or free ones); port → terminal."""
    out: dict[int, Terminal] = {}
    for i in range(fleet.count):
        terminal = build_terminal(fleet, i)
        out[host.add(terminal, fleet.port + i if fleet.port else 0)] = terminal
    return out


def seed_today(terminal: Terminal, *, seed: int = 1) -> int:
    """Add today's punches up to the terminal's clock (a morning already under way)."""
    now = terminal.now()
    rng = random.Random(seed)
    face = 0.9 if terminal.spec.record_size == 40 else 0.1
    added = 0
    recs = []
    for when, user, state, verify in day_punches(now.date(), terminal.users, rng, face_share=face):
        if when <= now:
            recs.append(att_record(user.uid, user.user_id, when, state, verify))
            added += 1
    packed = pack_attendance(recs, terminal.spec.record_size, terminal.spec.encoding)
    with terminal.lock:
        terminal.log += packed
    return added


class LivePuncher:
    """Punches on some terminals every few seconds, like people walking past the door."""

    name = "zk-live-punches"

    def __init__(self, terminals: list[Terminal], every_s: float = 5.0, seed: int = 7) -> None:
        self.terminals = terminals
        self.every_s = every_s
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        """Start punching in the background."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.5, 1.5) * self.every_s):
            terminal = self.rng.choice(self.terminals)
            user = self.rng.choice(terminal.users)
            verify = FACE if terminal.spec.record_size == 40 else FINGERPRINT
            terminal.punch(user.user_id, state=self.rng.choice((0, 1, 255)), verify=verify)

    def stop(self) -> None:
        """Stop punching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
