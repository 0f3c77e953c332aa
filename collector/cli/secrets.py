"""`punchgate secrets`: make a secret key, seal comm keys still stored in plain text."""

from __future__ import annotations

import typer

from collector.cli.common import console, open_existing_store, setup_logging
from collector.sealing import SecretKeyError, generate_key, reseal_plain
from collector.settings import get_settings

app = typer.Typer(
    help="Secrets stored by the service (comm keys, push tokens).", no_args_is_help=True
)


@app.command("generate-key")
def generate_key_command() -> None:
    """Print a new key for PUNCHGATE_SECRET_KEY."""
    # Plain print: the key must be copyable without console markup or wrapping.
    print(generate_key())


@app.command("reseal")
def reseal_command(
    rotate: bool = typer.Option(False, help="Also re-seal sealed keys with the first key."),
) -> None:
    """Seal every comm key still stored in plain text (the service also does it at start)."""
    settings = get_settings()
    setup_logging(settings)
    store = open_existing_store(settings, apply=False)
    try:
        with store.sessions.begin() as session:
            count = reseal_plain(session, store.box, rotate=rotate)
    except SecretKeyError as exc:
        console.print(f"[red]{exc}")
        raise SystemExit(2) from None
    finally:
        store.close()
    console.print(f"{count} comm keys sealed")  # count only: never the keys
