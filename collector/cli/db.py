"""`punchgate db …`: schema management."""

from __future__ import annotations

import typer

from collector.cli.common import console
from collector.settings import get_settings
from collector.store.db import make_engine, upgrade

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
