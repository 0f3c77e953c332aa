"""`punchgate agent …`: site agents — created, listed, re-tokened and revoked centrally; and
`enrol`, `run`, `status` on the agent's box (also `punchgate-agent`, lighter to start)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
from sqlalchemy.orm import Session

from collector.agent import enrolment
from collector.agent.site import cli as site
from collector.cli.common import console, open_existing_store
from collector.errors import DomainError
from collector.runtime import utcnow
from collector.settings import get_settings

app = typer.Typer(
    help="Site agents: terminals behind NAT, forwarded over HTTPS.", no_args_is_help=True
)
CLI_ACTOR = "cli"
app.command("enrol")(site.enrol_command)
app.command("run")(site.run_command)
app.command("status")(site.status_command)


@contextmanager
def _transaction() -> Iterator[tuple[Session, timedelta]]:
    """A transaction on the store and the enrolment tokens' lifetime; domain errors end in
    one red line and exit status 1."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions.begin() as session:
            yield session, timedelta(seconds=store.settings.agent_enrol_ttl_s)
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()


@app.command("create")
def create_command(
    code: str = typer.Argument(..., help="The agent's code (e.g. the office's name)."),
    terminal: list[str] = typer.Option([], "--terminal", help="A device code it reads (repeat)."),
    name: str = typer.Option("", help="A readable name."),
) -> None:
    """Create an agent for its terminals and print its one-time enrolment token."""
    with _transaction() as (session, ttl):
        made = enrolment.create_agent(
            session,
            code=code,
            name=name,
            terminals=terminal,
            options={},
            now=utcnow(),
            ttl=ttl,
            actor=CLI_ACTOR,
        )
    console.print(
        f"agent {made.agent} created; enrol it before {made.expires_at:%Y-%m-%d %H:%M} UTC:"
    )
    typer.echo(made.token)


@app.command("token")
def token_command(code: str = typer.Argument(..., help="The agent's code.")) -> None:
    """Print a new one-time enrolment token (to move the agent to another box)."""
    with _transaction() as (session, ttl):
        made = enrolment.new_token(session, code=code, now=utcnow(), ttl=ttl, actor=CLI_ACTOR)
    typer.echo(made.token)


@app.command("terminals")
def terminals_command(
    code: str = typer.Argument(..., help="The agent's code."),
    devices: list[str] = typer.Argument(None, help="Device codes it reads (none: it reads none)."),
) -> None:
    """Set the terminals an agent reads (pushed to it at its next contact)."""
    with _transaction() as (session, _):
        enrolment.update_agent(
            session, code=code, now=utcnow(), actor=CLI_ACTOR, terminals=devices or []
        )


@app.command("revoke")
def revoke_command(code: str = typer.Argument(..., help="The agent's code.")) -> None:
    """Refuse the agent from its next request on."""
    with _transaction() as (session, _):
        enrolment.revoke(session, code=code, now=utcnow(), actor=CLI_ACTOR)


@app.command("list")
def list_command() -> None:
    """Every agent with its terminals and health, one JSON object a line."""
    with _transaction() as (session, _):
        for row in enrolment.list_agents(session):
            fields = {
                "code": row.code,
                "terminals": enrolment.terminal_codes(session, row.id),
                "enrolled_at": row.enrolled_at,
                "revoked_at": row.revoked_at,
                "version": row.version,
                "last_contact_at": row.last_contact_at,
                "clock_skew_s": row.clock_skew_s,
                "buffer_depth": row.buffer_depth,
                "warning": row.warning,
            }
            print(json.dumps(fields, default=str))
