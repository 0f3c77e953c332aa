"""`punchgate retention run`: remove old coordinates, dismissed quarantine and sent events now."""

from __future__ import annotations

import typer

from collector.cli.common import console, open_existing_store, setup_logging
from collector.retention import purge_dismissed, purge_outbox, scrub_locations
from collector.runtime import utcnow
from collector.settings import get_settings

app = typer.Typer(help="Data retention.", no_args_is_help=True)


@app.command("run")
def run_command(
    days: int | None = typer.Option(None, help="Override PUNCHGATE_LOCATION_RETENTION_DAYS."),
    dismissed_days: int | None = typer.Option(
        None, help="Override PUNCHGATE_QUARANTINE_DISMISSED_RETENTION_DAYS."
    ),
    outbox_days: int | None = typer.Option(None, help="Override PUNCHGATE_OUTBOX_RETENTION_DAYS."),
) -> None:
    """Replace old coordinates by the site and distance band; delete old dismissed/sent items."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings)
    now = utcnow()
    try:
        result = scrub_locations(
            store.engine, now=now, days=days or settings.location_retention_days
        )
        purged = purge_dismissed(
            store.engine,
            now=now,
            days=dismissed_days or settings.quarantine_dismissed_retention_days,
        )
        sent = purge_outbox(
            store.engine, now=now, days=outbox_days or settings.outbox_retention_days
        )
    finally:
        store.close()
    console.print(
        f"coordinates removed from {result.punches} punches and "
        f"{result.quarantined} quarantined phone messages; "
        f"{purged} dismissed quarantine items deleted; "
        f"{sent} delivered outbox messages deleted"
    )
