"""The `punchgate` command line: the collector's commands, and serve and demo given the API.

`app` holds every command that needs no web app. `serve` and `demo` run the API, which the
collector must not import: `punchgate(web)` adds them around the factory it is handed, and
the console script's entry point, api.main, is where that factory comes from.
"""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from collector.cli import (
    agent,
    apikey,
    days,
    db,
    demo,
    emulate,
    emulate_biotime,
    emulate_dahua,
    emulate_hik,
    emulate_push,
    importing,
    leave,
    mqtt,
    period,
    push,
    retention,
    roster,
    secrets,
    serve,
    simulate,
    sync,
)
from collector.cli.common import console
from collector.config import ConfigError
from collector.sealing import SecretKeyError
from collector.service import WebApp

HELP = "punchgate: attendance device integration."

# Locals in tracebacks could show secrets (URLs, comm keys): never print them.
app = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(retention.app, name="retention")
app.add_typer(secrets.app, name="secrets")
app.add_typer(push.app, name="push")
app.add_typer(days.app, name="days")
app.add_typer(period.app, name="period")
app.add_typer(roster.app, name="roster")
app.add_typer(mqtt.app, name="mqtt")
app.add_typer(simulate.app, name="simulate")
app.add_typer(apikey.app, name="apikey")
app.add_typer(agent.app, name="agent")
app.add_typer(leave.app, name="leave")
app.command("import")(importing.import_command)
app.add_typer(emulate.app, name="emulate")
emulate.app.command("push")(emulate_push.push_command)
emulate.app.command("hikvision")(emulate_hik.hikvision_command)
emulate.app.command("dahua")(emulate_dahua.dahua_command)
emulate.app.command("biotime")(emulate_biotime.biotime_command)
app.command("sync")(sync.sync_command)


def punchgate(web: WebApp) -> typer.Typer:
    """The whole command: serve and demo running the API `web` builds, then every other."""
    cli = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_show_locals=False)
    cli.command("serve")(serve.serve_command(web))
    cli.command("demo")(demo.demo_command(web))
    cli.add_typer(app)
    return cli


def run(cli: typer.Typer) -> None:
    """Run the command line; store and configuration errors end in one readable line."""
    try:
        cli()
    except SQLAlchemyError as exc:
        # The driver's message names host and database but never the password.
        cause = getattr(exc, "orig", None) or exc
        console.print(f"[red]database error: {type(cause).__name__}: {cause}")
        raise SystemExit(3) from None
    except (ConfigError, SecretKeyError) as exc:
        # One line, no traceback: a traceback could show the values being validated.
        console.print(f"[red]configuration error: {exc}")
        raise SystemExit(2) from None
