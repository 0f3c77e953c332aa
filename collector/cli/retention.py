"""`punchgate retention run`: remove old phone coordinates now."""

from __future__ import annotations

import typer

from collector.cli.common import console, open_existing_store, setup_logging
from collector.retention import scrub_locations
from collector.runtime import utcnow
from collector.settings import get_settings

app = typer.Typer(help="Location data retention.", no_args_is_help=True)


@app.command("run")
def run_command(
    days: int | None = typer.Option(None, help="Override PUNCHGATE_LOCATION_RETENTION_DAYS."),
) -> None:
    """Replace coordinates older than the retention period by the site and distance band."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    try:
        result = scrub_locations(
            store.engine, now=utcnow(), days=days or settings.location_retention_days
        )
    finally:
        store.close()
    console.print(
        f"coordinates removed from {result.punches} punches and "
        f"{result.quarantined} quarantined phone messages"
    )
