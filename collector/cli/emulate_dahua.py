"""`punchgate emulate dahua`: emulated Dahua access controllers on loopback."""

from __future__ import annotations

import random

import typer

from collector.cli.emulating import announce, serve, started
from devices.dahua.emulator import DahuaController, DahuaEmulator, DahuaFaults


def dahua_command(
    port: int = typer.Option(8090, help="First HTTP port; 0 picks free ports."),
    count: int = typer.Option(1, min=1, help="How many controllers (consecutive ports)."),
    records: int = typer.Option(1000, min=0, help="Punches in each log (door events besides)."),
    seed: int = typer.Option(42, help="Seed of the generated traffic."),
    username: str = typer.Option("admin", help="Digest user name."),
    password: str = typer.Option("dahua12345", help="Digest password."),
    timezone: str = typer.Option("UTC", help="Zone the controllers' clocks show."),
    firmware: str = typer.Option(
        "utc", help="What CreateTime holds: utc, local, or local+realutc."
    ),
    live_every: float = typer.Option(0.0, min=0, help="A new punch every N seconds (0: none)."),
    latency_ms: float = typer.Option(0.0, min=0, help="Fault: delay before every reply."),
    wrong_password: bool = typer.Option(False, help="Fault: refuse every login."),
    garble_find: int | None = typer.Option(None, help="Fault: garble the Nth search reply."),
    drop_after_pages: int | None = typer.Option(None, help="Fault: drop the link after N pages."),
    drop_stream_after: int | None = typer.Option(
        None, help="Fault: the event stream dies after N events."
    ),
    garble_stream_after: int | None = typer.Option(
        None, help="Fault: garbled stream parts after N events."
    ),
    rec_no_limit: int | None = typer.Option(None, help="Fault: RecNo rolls over after N."),
    skew_minutes: float = typer.Option(0.0, help="Fault: clock off by N minutes."),
    duration: float | None = typer.Option(None, help="Stop after N seconds (default: Ctrl-C)."),
) -> None:
    """Serve emulated Dahua controllers; prints one JSON line with their ports on stdout."""
    if firmware not in ("utc", "local", "local+realutc"):
        raise typer.BadParameter("utc, local or local+realutc", param_hint="--firmware")

    def make(i: int, at: int) -> DahuaEmulator:
        controller = DahuaController(
            username=username,
            password=password,
            timezone=timezone,
            serial_number=f"7G0A1B2PAZ{seed:03d}{i:02d}",
            firmware=firmware,  # type: ignore[arg-type]
            skew_s=skew_minutes * 60,
            faults=DahuaFaults(
                latency_s=latency_ms / 1000,
                wrong_password=wrong_password,
                garble_find=garble_find,
                drop_after_pages=drop_after_pages,
                drop_stream_after=drop_stream_after,
                garble_stream_after=garble_stream_after,
                rec_no_limit=rec_no_limit,
            ),
        )
        controller.fill(records, seed=seed + i)
        return DahuaEmulator(controller, at)

    with started(count, port, make) as emulators:
        ports = [e.port for e in emulators]
        announce(
            {"ports": ports, "protocol": "dahua-cgi"},
            f"{count} emulated Dahua controller(s) on http://127.0.0.1 port(s) "
            f"{', '.join(map(str, ports))}, {records} punches each; Ctrl-C stops",
        )

        def punch(rng: random.Random) -> None:
            for emulator in emulators:
                emulator.controller.punch_now(rng)

        serve(live_every, duration, punch)
