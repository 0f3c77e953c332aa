"""`punchgate emulate hikvision`: emulated Hikvision ISAPI terminals on loopback."""

from __future__ import annotations

import json
import random
import time

import typer

from collector.cli.common import console
from devices.hikvision.emulator import HikEmulator, HikFaults, HikTerminal


def hikvision_command(
    port: int = typer.Option(8080, help="First HTTP port; 0 picks free ports."),
    count: int = typer.Option(1, min=1, help="How many terminals (consecutive ports)."),
    events: int = typer.Option(1000, min=0, help="Punches in each log (door events besides)."),
    seed: int = typer.Option(42, help="Seed of the generated traffic."),
    username: str = typer.Option("admin", help="Digest user name."),
    password: str = typer.Option("hik12345", help="Digest password."),
    timezone: str = typer.Option("UTC", help="Zone the terminals' clocks show."),
    live_every: float = typer.Option(0.0, min=0, help="A new punch every N seconds (0: none)."),
    multipart: bool = typer.Option(False, help="Push notifications as multipart with a picture."),
    latency_ms: float = typer.Option(0.0, min=0, help="Fault: delay before every reply."),
    wrong_password: bool = typer.Option(False, help="Fault: refuse every login."),
    push_only: bool = typer.Option(False, help="Fault: event search not supported."),
    garble_search: int | None = typer.Option(None, help="Fault: garble the Nth search reply."),
    drop_after_pages: int | None = typer.Option(None, help="Fault: drop the link after N pages."),
    ignore_begin_serial: bool = typer.Option(False, help="Fault: firmware ignores beginSerialNo."),
    skew_minutes: float = typer.Option(0.0, help="Fault: clock off by N minutes."),
    duration: float | None = typer.Option(None, help="Stop after N seconds (default: Ctrl-C)."),
) -> None:
    """Serve emulated ISAPI terminals; prints one JSON line with their ports on stdout."""
    emulators: list[HikEmulator] = []
    try:
        for i in range(count):
            terminal = HikTerminal(
                username=username,
                password=password,
                timezone=timezone,
                serial_number=f"DS-K1T671MF2024110{i:02d}ENAB{seed:07d}",
                skew_s=skew_minutes * 60,
                faults=HikFaults(
                    latency_s=latency_ms / 1000,
                    wrong_password=wrong_password,
                    push_only=push_only,
                    garble_search=garble_search,
                    drop_after_pages=drop_after_pages,
                    ignore_begin_serial=ignore_begin_serial,
                ),
            )
            terminal.fill(events, seed=seed + i)
            emulator = HikEmulator(terminal, port + i if port else 0, multipart=multipart)
            emulator.start()
            emulators.append(emulator)
        ports = [e.port for e in emulators]
        print(json.dumps({"ports": ports, "protocol": "isapi"}), flush=True)
        console.print(
            f"{count} emulated Hikvision terminal(s) on http://127.0.0.1 port(s) "
            f"{', '.join(map(str, ports))}, {events} punches each; Ctrl-C stops"
        )
        _run(emulators, live_every, duration)
    finally:
        for emulator in emulators:
            emulator.stop()


def _run(emulators: list[HikEmulator], live_every: float, duration: float | None) -> None:
    rng = random.Random()
    stop_at = None if duration is None else time.monotonic() + duration
    try:
        while stop_at is None or time.monotonic() < stop_at:
            wait = live_every or 1.0
            time.sleep(wait if stop_at is None else max(0.0, min(wait, stop_at - time.monotonic())))
            if live_every:
                for emulator in emulators:
                    emulator.terminal.punch_now(rng)
    except KeyboardInterrupt:
        pass
