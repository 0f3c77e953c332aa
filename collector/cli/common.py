"""Helpers shared by the CLI commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from collector.logs import JsonFormatter, setup_logging
from collector.runtime import Store, open_store
from collector.settings import Settings
from collector.store.db import make_engine

console = Console(stderr=True, soft_wrap=True)


def open_existing_store(settings: Settings, *, apply: bool = True) -> Store:
    """The store of a command that works on existing data; refused when it has no schema.

    Opening a SQLite URL creates the file, and migrating it would leave the command working
    on a new empty database (a typo, or the wrong directory) while the user's data is
    elsewhere: say which database was looked at and how to make one instead.
    """
    require_schema(settings)
    return open_store(settings, apply=apply)


def require_schema(settings: Settings) -> None:
    """Exit with status 2 and what to do when the configured database has no schema."""
    missing = _missing_schema(settings.database_url)
    if missing is not None:
        console.print(
            f"[red]no punchgate database at {escape(settings.database_url_safe())}: "
            f"{escape(missing)}[/]\n"
            "Point PUNCHGATE_DATABASE_URL at your database (`punchgate demo` prints its own), "
            "or create this one with `punchgate db upgrade`."
        )
        raise typer.Exit(2)


def _missing_schema(url: str) -> str | None:
    """Why the database at `url` holds no punchgate schema, or None when it does."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None  # a fresh in-memory database is what the caller asked for
        path = Path(parsed.database).resolve()
        if not path.exists():
            return f"the file {path} does not exist"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if inspect(conn).has_table("alembic_version"):
                return None
    finally:
        engine.dispose()
    return "it has no punchgate tables"


__all__ = [
    "JsonFormatter",
    "console",
    "open_existing_store",
    "require_schema",
    "setup_logging",
]
