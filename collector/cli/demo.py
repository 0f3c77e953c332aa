"""`punchgate demo`: everything on embedded defaults, with generated data."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import typer

from collector.cli.common import console, setup_logging
from collector.config import load_config
from collector.demo.access import demo_enrolment, demo_key
from collector.demo.days import days_worker, policy_start, seed_attendance
from collector.demo.mobile import mobile_workers
from collector.demo.push import push_workers
from collector.demo.seed import add_employees, history
from collector.demo.terminals import demo_terminal_workers
from collector.runtime import Store, open_store, utcnow
from collector.service import Service, WebApp
from collector.settings import get_settings
from collector.store.ingest import ingest_batch

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "demo" / "demo.toml"


def demo_command(web: WebApp) -> Callable[..., None]:
    """The `demo` command, serving the API that `web` builds on the demo's store."""

    def demo(
        data_dir: Path = typer.Option(Path(".demo"), help="Where the demo keeps its database."),
        port: int = typer.Option(8000, help="Port of the API and pages."),
        reset: bool = typer.Option(False, help="Start from an empty database."),
        duration: float | None = typer.Option(
            None, help="Stop after this many seconds (default: run until Ctrl-C)."
        ),
    ) -> None:
        """Run the whole service locally on a SQLite file with demo data."""
        if reset and data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = get_settings()
        if "database_url" not in settings.model_fields_set:
            demo_db = f"sqlite:///{data_dir.resolve()}/demo.sqlite3"
            settings = settings.model_copy(update={"database_url": demo_db})
        setup_logging(settings)
        # The one store of the process, shared by the API and the workers. The demo seeds
        # its own master data instead of applying a configuration file.
        store = open_store(settings, apply=False)
        try:
            token, (employee, enrol_path) = _seed(store)
            console.print(
                f"[bold]punchgate demo[/] on http://127.0.0.1:{port}"
                "  (health: /health, punches: /punches)"
            )
            console.print(f"API key (admin): Authorization: Bearer {token}")
            console.print(
                f"HR pages: http://127.0.0.1:{port}/ui/today  (sign in with the key above)"
            )
            console.print(
                f"Punch app for employee {employee}: http://127.0.0.1:{port}{enrol_path}"
                "  (opens once, for a day; emulate a location near 52.52, 13.405 for site hq)"
            )
            console.print("press Ctrl-C to stop")
            workers = [
                *demo_terminal_workers(store),
                *push_workers(port),
                *mobile_workers(store),
                days_worker(store),
            ]
            Service(web(store), workers).run(host="127.0.0.1", port=port, duration=duration)
        finally:
            store.close()

    return demo


def _seed(store: Store) -> tuple[str, tuple[str, str]]:
    """Employees, an admin key, an app enrolment and history; returns the token and link."""
    now = utcnow()
    with store.sessions.begin() as session:
        add_employees(session, load_config(DEMO_CONFIG), now, policy_start(now))
        token = demo_key(session, now)
        enrolment = demo_enrolment(session, now)
    yesterday = now.date() - timedelta(days=1)
    seeded = ingest_batch(store.engine, history(yesterday), now=now, policy=store.policy)
    seed_attendance(store, now)
    console.print(
        f"demo database {store.settings.database_url_safe()}: {seeded.inserted} punches seeded "
        f"({seeded.duplicates} already there)"
    )
    return token, enrolment
