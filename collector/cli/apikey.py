"""`punchgate apikey …`: create (the token printed once), list and revoke API keys."""

from __future__ import annotations

import typer

from collector.apikeys import Role, create_key, list_keys, revoke_key
from collector.audit import record
from collector.cli.common import console, open_existing_store
from collector.errors import DomainError
from collector.runtime import utcnow
from collector.settings import get_settings

app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
CLI_ACTOR = "cli"


@app.command("create")
def create_command(
    role: Role = typer.Option(..., help="admin, hr, manager or viewer."),
    name: str = typer.Option(..., help="Who or what the key is for."),
    department: str | None = typer.Option(None, help="Limit the key to this department code."),
) -> None:
    """Create a key and print its token (shown this once; only a hash is stored)."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions.begin() as session:
            now = utcnow()
            new = create_key(session, name=name, role=role, now=now, department_code=department)
            record(
                session,
                actor=CLI_ACTOR,
                action="apikey.create",
                entity="api_key",
                entity_id=new.key.id,
                now=now,
                details={"name": name, "role": role.value, "department": department},
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(f"key {new.key.id} ({role.value}) created; store this token now:")
    typer.echo(new.token)


@app.command("list")
def list_command() -> None:
    """List keys (never their secrets)."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions() as session:
            for key in list_keys(session):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                scope = f" department={key.department_id}" if key.department_id else ""
                typer.echo(f"{key.id}\t{key.prefix}\t{key.role}\t{key.name}\t{state}{scope}")
    finally:
        store.close()


@app.command("revoke")
def revoke_command(key_id: int = typer.Argument(..., help="The key's id (see list).")) -> None:
    """Revoke a key at once."""
    store = open_existing_store(get_settings(), apply=False)
    try:
        with store.sessions.begin() as session:
            now = utcnow()
            revoke_key(session, key_id=key_id, now=now)
            record(
                session,
                actor=CLI_ACTOR,
                action="apikey.revoke",
                entity="api_key",
                entity_id=key_id,
                now=now,
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(f"key {key_id} revoked")
