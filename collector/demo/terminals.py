"""The demo's two emulated terminals (fingerprint over TCP, face over UDP) and their poller."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update

from collector.poller.worker import TerminalPollerWorker
from collector.runtime import Store
from collector.service import Worker
from collector.store.models import Device
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.fleet import LivePuncher, seed_today
from devices.zk.emulator.traffic import make_users

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


@dataclass
class DemoTerminals:
    """Runs the emulated doors with today's punches so far and a live punch every few seconds."""

    store: Store
    every_s: float = 5.0
    name: str = "demo-terminals"
    host: EmulatorHost = field(default_factory=EmulatorHost)
    terminals: list[Terminal] = field(default_factory=list)
    puncher: LivePuncher | None = None

    def start(self) -> None:
        """Open the doors' ports and start punching."""
        self.host.start()
        people = make_users(20)  # the demo's employees 1001–1020
        for i, (port, spec) in enumerate(DOORS.values()):
            terminal = Terminal(spec, people)
            seed_today(terminal, seed=i + 1)
            try:
                self.host.add(terminal, port)
            except OSError:
                # Another demo (or anything) holds the usual port: take a free one and tell
                # the device row, which the poller reads when it starts.
                bound = self.host.add(terminal, 0)
                with self.store.sessions.begin() as session:
                    session.execute(
                        update(Device).where(Device.code == spec.name).values(port=bound)
                    )
            self.terminals.append(terminal)
        self.puncher = LivePuncher(self.terminals, self.every_s)
        self.puncher.start()

    def stop(self) -> None:
        """Stop punching and close the ports."""
        if self.puncher is not None:
            self.puncher.stop()
        self.host.stop()


def demo_terminal_workers(store: Store) -> list[Worker]:
    """The emulated doors first, then the poller reading them."""
    return [DemoTerminals(store), TerminalPollerWorker(store)]
