"""`punchgate emulate push`: run a simulated push-mode terminal against a punchgate server."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import datetime, timedelta

import typer

from collector.cli.common import console
from devices.zk.push.simulator import Faults, PushTerminalSimulator, SimulatorGaveUp


def pin_range(text: str) -> list[str]:
    """``1001-1020`` or ``1001,1005`` → the PINs it names."""
    out: list[str] = []
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        if sep and low.isdigit() and high.isdigit():
            out += [str(n) for n in range(int(low), int(high) + 1)]
        elif part.strip():
            out.append(part.strip())
    return out


def push_command(
    url: str = typer.Option("http://127.0.0.1:8000", help="The punchgate server."),
    serial: str = typer.Option("SIM0001", help="The terminal's serial number."),
    timezone: str = typer.Option("UTC", help="The zone the terminal's clock is set to."),
    token: str | None = typer.Option(None, help="Per-terminal token, when the device has one."),
    pins: str = typer.Option("1001-1020", help="PINs that punch, e.g. 1001-1020."),
    backlog: int = typer.Option(0, help="Records made while offline, uploaded first."),
    batch: int = typer.Option(500, help="Records per upload."),
    interval: float = typer.Option(2.0, help="Seconds between polls."),
    duration: float | None = typer.Option(
        None, help="Stop after this many seconds (default: until Ctrl-C; 0: backlog only)."
    ),
    lose_reply_every: int = typer.Option(0, help="Pretend every n-th upload reply was lost."),
) -> None:
    """Behave like a push-mode face terminal: handshake, upload, poll and run commands."""
    sim = PushTerminalSimulator(
        url,
        serial,
        timezone=timezone,
        token=token,
        batch_size=batch,
        max_attempts=None,
        faults=Faults(lose_reply_every=lose_reply_every),
    )
    people = pin_range(pins)
    try:
        sim.handshake()
        if backlog:
            start = sim.local_now() - timedelta(seconds=7 * backlog)
            sim.add_backlog(backlog, start=start, pins=people)
            sim.upload()
        if duration != 0:
            if duration is not None:
                timer = threading.Timer(duration, sim.stopping.set)
                timer.daemon = True
                timer.start()
            sim.run(interval=interval, pins=people)
    except KeyboardInterrupt:
        sim.stopping.set()
    except SimulatorGaveUp as exc:
        console.print(f"[red]gave up:[/] {exc}")
        raise typer.Exit(1) from exc
    finally:
        sim.close()
    ledger = asdict(sim.ledger)
    ledger["generated"] = len(sim.ledger.generated)
    ledger["commands"] = len(sim.ledger.commands)
    ledger["finished_at"] = datetime.now().astimezone().isoformat()
    typer.echo(json.dumps(ledger, default=str))
