"""`punchgate push …`: push terminals' command queue and approval, from the command line."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from collector.cli.common import console, open_existing_store
from collector.push.commands import KINDS, CommandError, list_commands, queue_command
from collector.push.terminals import PushError, approve
from collector.runtime import utcnow
from collector.settings import get_settings

app = typer.Typer(help="Push-mode terminals (iclock).", no_args_is_help=True)


@app.command("command")
def command_command(
    device: str = typer.Argument(..., help="Device code of the push terminal."),
    kind: str = typer.Argument(..., help=f"One of: {', '.join(KINDS)}."),
    prune: bool = typer.Option(False, help="sync_roster: also remove people no longer employed."),
    by: str = typer.Option("cli", help="Who asks (kept with the command)."),
) -> None:
    """Queue a command for a push terminal; it is handed out at the terminal's next poll."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions.begin() as session:
            views = queue_command(
                session, device_code=device, kind=kind, requested_by=by, now=utcnow(), prune=prune
            )
    except CommandError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    finally:
        store.close()
    for view in views:
        typer.echo(json.dumps(asdict(view), default=str))


@app.command("commands")
def commands_command(
    device: str | None = typer.Option(None, help="Only this device."),
    status: str | None = typer.Option(None, help="queued, sent, done or failed."),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """List commands and their results, newest first (one JSON object a line)."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions() as session:
            views = list_commands(session, device_code=device, status=status, limit=limit)
    finally:
        store.close()
    for view in views:
        typer.echo(json.dumps(asdict(view), default=str))


@app.command("approve")
def approve_command(
    serial: str = typer.Argument(..., help="Serial number of the terminal held for approval."),
    code: str | None = typer.Option(None, help="Give the device this code."),
    timezone: str | None = typer.Option(None, help="The zone the terminal's clock runs in."),
) -> None:
    """Enable a terminal that called in with an unknown serial (pending approval)."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        device = approve(store, serial=serial, code=code, timezone=timezone)
    except PushError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    finally:
        store.close()
    console.print(f"approved {serial} as device {device.code} ({device.timezone})")
