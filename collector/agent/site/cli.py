"""`punchgate-agent` (also `punchgate agent enrol|run|status`): the agent's own commands.

`punchgate-agent` is the same commands without the rest of punchgate loaded: on the agent's
small box it starts in about 50 MB where the full `punchgate` command needs over 100 MB.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

import typer

from collector.agent.site.buffer import Buffer
from collector.agent.site.central import AgentRefused, Central, CentralError
from collector.agent.site.runner import EXIT_REFUSED, Agent, agent_version
from collector.agent.wire import EnrolRequest
from collector.logs import setup_logging
from collector.settings import Settings, get_settings

app = typer.Typer(
    help="The site agent: reads the office's terminals and forwards to the central service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
BufferOpt = typer.Option(
    None, "--buffer", help="The agent's buffer file (default: PUNCHGATE_AGENT_BUFFER)."
)


def open_buffer(settings: Settings, path: Path | None) -> Buffer:
    """The buffer file with the settings' bounds."""
    return Buffer(
        path or settings.agent_buffer,
        max_rows=settings.agent_buffer_max_rows,
        warn_ratio=settings.agent_buffer_warn_ratio,
        min_free_bytes=settings.agent_min_free_disk_mb * 1024 * 1024,
    )


@app.command("enrol")
def enrol_command(
    url: str = typer.Argument(..., help="The central service, e.g. https://punch.example.com"),
    token: str = typer.Argument(..., help="The one-time token from `punchgate agent create`."),
    buffer_path: Path | None = BufferOpt,
) -> None:
    """Exchange a one-time token for this agent's credential, kept in the buffer file."""
    settings = get_settings()
    buffer = open_buffer(settings, buffer_path)
    request = EnrolRequest(token=token, hostname=socket.gethostname(), version=agent_version())
    try:
        with Central(url, ca_file=settings.agent_ca_file) as central:
            reply = central.enrol(request)
    except CentralError as exc:
        typer.echo(f"enrolment failed: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED if isinstance(exc, AgentRefused) else 2) from None
    buffer.put("central_url", url)
    buffer.put("agent", reply.agent)
    buffer.put("credential", reply.credential)
    typer.echo(f"enrolled as agent {reply.agent}; start it with `punchgate-agent run`", err=True)


@app.command("run")
def run_command(buffer_path: Path | None = BufferOpt) -> None:
    """Read the terminals and forward to the central service until stopped (SIGTERM, ^C)."""
    settings = get_settings()
    setup_logging(settings)
    buffer = open_buffer(settings, buffer_path)
    url, credential = buffer.get("central_url"), buffer.get("credential")
    if not url or not credential:
        typer.echo("not enrolled: run `punchgate-agent enrol URL TOKEN` first", err=True)
        raise typer.Exit(2)
    stop = threading.Event()

    def stopping(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    with Central(url, credential=credential, ca_file=settings.agent_ca_file) as central:
        code = Agent(buffer, central, settings).run(stop)
    raise typer.Exit(code)


@app.command("status")
def status_command(buffer_path: Path | None = BufferOpt) -> None:
    """What the buffer holds (JSON): agent, centre, depth, oldest punch, warning."""
    settings = get_settings()
    buffer = open_buffer(settings, buffer_path)
    oldest = buffer.oldest()
    config = buffer.get("config") or {}
    print(
        json.dumps(
            {
                "agent": buffer.get("agent"),
                "central_url": buffer.get("central_url"),
                "buffer_depth": buffer.depth(),
                "buffer_capacity": buffer.max_rows,
                "oldest_buffered_at": oldest.isoformat() if oldest else None,
                "warning": buffer.warning(),
                "terminals": [t["code"] for t in config.get("terminals", [])],
            }
        )
    )


def main() -> None:
    """Entry point of the `punchgate-agent` console script."""
    app()


if __name__ == "__main__":
    main()
