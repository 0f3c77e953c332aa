"""The `punchgate` command line."""

from __future__ import annotations

import typer

from collector.cli import apikey, db, demo, importing, serve

app = typer.Typer(help="punchgate: attendance device integration.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(apikey.app, name="apikey")
app.command("import")(importing.import_command)
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)


def main() -> None:
    """Entry point of the console script."""
    app()
