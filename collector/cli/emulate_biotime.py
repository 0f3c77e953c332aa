"""`punchgate emulate biotime`: an emulated ZKTeco BioTime server on loopback."""

from __future__ import annotations

import typer

from collector.cli.emulating import announce, serve
from devices.biotime.emulator import BioTimeEmulator, BioTimeFaults, BioTimeServer


def biotime_command(
    port: int = typer.Option(8081, help="HTTP port; 0 picks a free one."),
    terminals: int = typer.Option(2, min=1, help="Terminals behind the server."),
    punches: int = typer.Option(1000, min=0, help="Transactions already on the server."),
    seed: int = typer.Option(42, help="Seed of the generated traffic."),
    username: str = typer.Option("admin", help="API user name."),
    password: str = typer.Option("biotime123", help="API password."),
    timezone: str = typer.Option("UTC", help="Zone of the terminals' clocks."),
    live_every: float = typer.Option(0.0, min=0, help="A new punch every N seconds (0: none)."),
    latency_ms: float = typer.Option(0.0, min=0, help="Fault: delay before every reply."),
    wrong_password: bool = typer.Option(False, help="Fault: refuse every login."),
    jwt_forbidden: bool = typer.Option(False, help="Fault: licence without the JWT API (403)."),
    jwt_missing: bool = typer.Option(False, help="Fault: no JWT endpoint (404)."),
    token_calls: int | None = typer.Option(None, help="Fault: tokens expire after N calls."),
    garble_page: int | None = typer.Option(None, help="Fault: garble the Nth page."),
    drop_after_pages: int | None = typer.Option(None, help="Fault: drop the link after N pages."),
    skew_minutes: float = typer.Option(0.0, help="Fault: terminal clocks off by N minutes."),
    duration: float | None = typer.Option(None, help="Stop after N seconds (default: Ctrl-C)."),
) -> None:
    """Serve an emulated BioTime server; prints one JSON line with its port and terminals."""
    server = BioTimeServer(
        username=username,
        password=password,
        faults=BioTimeFaults(
            latency_s=latency_ms / 1000,
            wrong_password=wrong_password,
            jwt_forbidden=jwt_forbidden,
            jwt_missing=jwt_missing,
            token_calls=token_calls,
            garble_page=garble_page,
            drop_after_pages=drop_after_pages,
        ),
    )
    for i in range(terminals):
        server.add_terminal(f"CQZ7{seed:05d}{i:04d}", timezone=timezone).skew_s = skew_minutes * 60
    server.fill(punches, seed=seed)
    with BioTimeEmulator(server, port) as emulator:
        sns = sorted(server.terminals)
        announce(
            {"ports": [emulator.port], "terminals": sns, "protocol": "biotime"},
            f"emulated BioTime server on http://127.0.0.1:{emulator.port} with {terminals} "
            f"terminal(s), {punches} transactions; Ctrl-C stops",
        )
        serve(live_every, duration, lambda rng: server.punch_now(rng.choice(sns), rng))
