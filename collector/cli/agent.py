"""`punchgate agent …`: site agents — created, listed, re-tokened and revoked centrally; and
`enrol`, `run`, `status` on the agent's box (also `punchgate-agent`, lighter to start)."""

from __future__ import annotations

import json
from datetime import timedelta

import typer

from collector.agent import enrolment
from collector.agent.site import cli as site
from collector.cli.common import console, open_existing_store
from collector.errors import DomainError
from collector.runtime import Store, utcnow
from collector.settings import get_settings

app = typer.Typer(
    help="Site agents: terminals behind NAT, forwarded over HTTPS.", no_args_is_help=True
)
CLI_ACTOR = "cli"
app.command("enrol")(site.enrol_command)
app.command("run")(site.run_command)
app.command("status")(site.status_command)


def _store() -> Store:
    return open_existing_store(get_settings(), apply=False)


@app.command("create")
def create_command(
    code: str = typer.Argument(..., help="The agent's code (e.g. the office's name)."),
    terminal: list[str] = typer.Option([], "--terminal", help="A device code it reads (repeat)."),
    name: str = typer.Option("", help="A readable name."),
) -> None:
    """Create an agent for its terminals and print its one-time enrolment token."""
    store = _store()
    try:
        with store.sessions.begin() as session:
            made = enrolment.create_agent(
                session,
                code=code,
                name=name,
                terminals=terminal,
                options={},
                now=utcnow(),
                ttl=timedelta(seconds=store.settings.agent_enrol_ttl_s),
                actor=CLI_ACTOR,
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(
        f"agent {made.agent} created; enrol it before {made.expires_at:%Y-%m-%d %H:%M} UTC:"
    )
    typer.echo(made.token)


@app.command("token")
def token_command(code: str = typer.Argument(..., help="The agent's code.")) -> None:
    """Print a new one-time enrolment token (to move the agent to another box)."""
    store = _store()
    try:
        with store.sessions.begin() as session:
            made = enrolment.new_token(
                session,
                code=code,
                now=utcnow(),
                ttl=timedelta(seconds=store.settings.agent_enrol_ttl_s),
                actor=CLI_ACTOR,
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    typer.echo(made.token)


@app.command("terminals")
def terminals_command(
    code: str = typer.Argument(..., help="The agent's code."),
    devices: list[str] = typer.Argument(None, help="Device codes it reads (none: it reads none)."),
) -> None:
    """Set the terminals an agent reads (pushed to it at its next contact)."""
    store = _store()
    try:
        with store.sessions.begin() as session:
            enrolment.update_agent(
                session, code=code, now=utcnow(), actor=CLI_ACTOR, terminals=devices or []
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()


@app.command("revoke")
def revoke_command(code: str = typer.Argument(..., help="The agent's code.")) -> None:
    """Refuse the agent from its next request on."""
    store = _store()
    try:
        with store.sessions.begin() as session:
            enrolment.revoke(session, code=code, now=utcnow(), actor=CLI_ACTOR)
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()


@app.command("list")
def list_command() -> None:
    """Every agent with its terminals and health, one JSON object a line."""
    store = _store()
    try:
        with store.sessions() as session:
            for row in enrolment.list_agents(session):
                print(
                    json.dumps(
                        {
                            "code": row.code,
                            "terminals": enrolment.terminal_codes(session, row.id),
                            "enrolled_at": row.enrolled_at,
                            "revoked_at": row.revoked_at,
                            "version": row.version,
                            "last_contact_at": row.last_contact_at,
                            "clock_skew_s": row.clock_skew_s,
                            "buffer_depth": row.buffer_depth,
                            "warning": row.warning,
                        },
                        default=str,
                    )
                )
    finally:
        store.close()
