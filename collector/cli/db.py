"""`punchgate db …`: schema management."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from collector.cli.common import console, require_schema
from collector.settings import get_settings
from collector.store.db import StoreInUse, compact_sqlite, make_engine, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    console.print(f"database {settings.database_url_safe()} is at {revision}")


@app.command("compact")
def compact_command() -> None:
    """Rewrite a SQLite store at today's page size (stop every punchgate process first)."""
    settings = get_settings()
    require_schema(settings)
    engine = make_engine(settings.database_url)
    try:
        if engine.dialect.name != "sqlite":
            console.print("nothing to do: only SQLite stores are rewritten")
            return
        before, after = compact_sqlite(engine)
    except (OperationalError, StoreInUse) as exc:
        why = exc.orig if isinstance(exc, OperationalError) else exc
        console.print(
            f"[red]cannot compact {settings.database_url_safe()}: {why}[/red]"
            " (stop every punchgate process using it, and keep free disk for a second copy)"
        )
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if before == after:
        console.print(f"database {settings.database_url_safe()} already has {after}-byte pages")
    else:
        console.print(
            f"database {settings.database_url_safe()} rewritten: {before}-byte pages → {after}"
        )
