"""`punchgate emulate hikvision`: emulated Hikvision ISAPI terminals on loopback."""

from __future__ import annotations

import random

import typer

from collector.cli.emulating import announce, serve, started
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

    def make(i: int, at: int) -> HikEmulator:
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
        return HikEmulator(terminal, at, multipart=multipart)

    with started(count, port, make) as emulators:
        ports = [e.port for e in emulators]
        announce(
            {"ports": ports, "protocol": "isapi"},
            f"{count} emulated Hikvision terminal(s) on http://127.0.0.1 port(s) "
            f"{', '.join(map(str, ports))}, {events} punches each; Ctrl-C stops",
        )

        def punch(rng: random.Random) -> None:
            for emulator in emulators:
                emulator.terminal.punch_now(rng)

        serve(live_every, duration, punch)
