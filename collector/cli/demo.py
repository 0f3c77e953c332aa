"""`punchgate demo`: everything on embedded defaults, with generated data."""

from __future__ import annotations

import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from collector.cli.common import console, setup_logging
from collector.config import load_config
from collector.demo.access import demo_enrolment, demo_key
from collector.demo.agent import AGENT_CODE, AGENT_DOOR, DemoAgent, demo_agent_token
from collector.demo.days import SeededHistory, days_worker, policy_start, seed_attendance
from collector.demo.mobile import DEMO_PHONES, DemoPhones, mobile_workers
from collector.demo.periods import close_last_month
from collector.demo.push import push_workers
from collector.demo.requests import seed_requests
from collector.demo.seed import Walkers, add_employees, add_leave_examples, demo_employees
from collector.demo.terminals import demo_terminal_workers
from collector.runtime import Store, open_store, utcnow
from collector.service import Service, WebApp
from collector.settings import Settings, get_settings, safe_url
from collector.store.models import Employee

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_CONFIG = DEMO_DIR / "demo.toml"
SAMPLE_EXPORT = DEMO_DIR / "samples" / "old_system_export.csv"  # two weeks from a ZKTeco system


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
        # Before anything is created or printed: a key shown for a server that then fails
        # to start would only mislead.
        taken = _port_taken(port)
        if taken is not None:
            console.print(
                f"[red]port {port} on 127.0.0.1 is already in use ({escape(taken)}).[/]\n"
                f"Stop what holds it, or run the demo on another port: "
                f"punchgate demo --port {port + 1}"
            )
            raise typer.Exit(2)
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
            employees, token, seeded, app, closed = _seed(store)
            with store.sessions.begin() as session:
                agent_token = demo_agent_token(session, utcnow())
            branch = DemoAgent(
                settings, f"http://127.0.0.1:{port}", agent_token, data_dir / "agent-buffer.sqlite3"
            )
            phones = mobile_workers(store)
            walkers = Walkers([e.code for e in demo_employees()])  # one office and its doors
            workers = [
                *demo_terminal_workers(store, walkers),
                *push_workers(port, walkers),
                *phones.workers,
                days_worker(store),
                branch,
            ]
            for line in banner(settings, port, token, phones, employees, seeded, app, closed):
                console.print(line, markup=False, highlight=False)
            Service(web(store), workers).run(host="127.0.0.1", port=port, duration=duration)
        finally:
            store.close()

    return demo


def _port_taken(port: int) -> str | None:
    """Why 127.0.0.1:`port` cannot be served on, or None when it can."""
    with socket.socket() as probe:
        # As uvicorn binds: address reuse lets a port in TIME_WAIT pass, not a listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _seed(
    store: Store,
) -> tuple[int, str, SeededHistory, tuple[str, str], tuple[int, date] | None]:
    """Employees, an admin key, a punch-app enrolment and history: how many employees, the
    key's token, the history, (employee code, enrolment link path), the closed month's
    (period id, first day)."""
    now = utcnow()
    with store.sessions.begin() as session:
        employees = add_employees(session, load_config(DEMO_CONFIG), now, policy_start(now))
        token = demo_key(session, now)
        app = demo_enrolment(session, now)
        add_leave_examples(session, now)
    seeded = seed_attendance(store, now)  # the factory's rostered workers join here
    with store.sessions.begin() as session:
        seed_requests(session, now, store.policy)  # pending, for the inbox
    with store.sessions() as session:
        employees = session.scalar(select(func.count()).select_from(Employee)) or employees
    closed = close_last_month(store, now)
    return employees, token, seeded, app, closed


def banner(
    settings: Settings,
    port: int,
    token: str,
    phones: DemoPhones,
    employees: int,
    seeded: SeededHistory,
    app: tuple[str, str],
    closed: tuple[int, date] | None = None,
) -> list[str]:
    """What a second terminal needs to use the running demo, as lines to print."""
    api = f"http://127.0.0.1:{port}"
    db = _printable_db_url(settings.database_url)
    pg = shlex.quote(_punchgate())
    env = f"PUNCHGATE_DATABASE_URL={shlex.quote(db)}"
    mqtt = phones.url
    broker = "embedded broker, MQTT 3.1.1, any user name" if phones.embedded else "configured"
    sim_url = mqtt.replace("mqtt://", "mqtt://simulator@") if phones.embedded else mqtt
    first_free = 1001 + DEMO_PHONES
    return [
        "punchgate demo is starting (Ctrl-C stops it)",
        f"  API        {api}   (health: {api}/health)",
        f"  HR pages   {api}/ui/today   (sign in with the admin key)",
        f"  admin key  {token}",
        f"  payroll    {api}/ui/periods   "
        + (
            f"({closed[1]:%B %Y} closed; its payroll export: {api}/periods/{closed[0]}/payroll)"
            if closed is not None
            else "(last month could not be closed yet: its checklist says why)"
        ),
        f"  punch app  {api}{app[1]}   (employee {app[0]}'s phone: opens once, valid a day;"
        " in a desktop browser, emulate a location near 52.52, 13.405)",
        f"             curl -s -H 'Authorization: Bearer {token}' '{api}/punches?limit=5'",
        f"  MQTT       {mqtt}   ({broker}; the demo's phones: employees 1001–{first_free - 1})",
        f"  database   {safe_url(db)}",
        f"  site agent {AGENT_CODE}: reads {AGENT_DOOR} (a branch door behind NAT) and forwards "
        f"over HTTP; its health: {api}/reports/devices",
        f"  seeded     {employees} employees; {seeded.inserted} punches at the front door "
        f"over {seeded.working_days} working days {seeded.first:%d %b}–{seeded.last:%d %b}"
        + (f" ({seeded.duplicates} already there)" if seeded.duplicates else ""),
        "From a second terminal:",
        "  # import two weeks of an old ZKTeco system's export",
        f"  {env} {pg} import {shlex.quote(str(SAMPLE_EXPORT))} --timezone Europe/Berlin",
        f"  # the phones of employees {first_free}–1020 for half a minute",
        f"  {pg} simulate phones --url {sim_url} --first-code {first_free} --count 10 "
        "--rate 5 --duration 30",
        "  # read what is new on the emulated front door now",
        f"  {env} {pg} sync door-fp",
    ]


def _punchgate() -> str:
    """The punchgate command as a second terminal can run it: this environment's own."""
    # Not resolved: a virtual environment's python is a symlink out of it.
    here = shutil.which("punchgate", path=str(Path(sys.executable).absolute().parent))
    return here or "punchgate"


def _printable_db_url(url: str) -> str:
    """The URL a second terminal must use; a password is masked, to be filled in by hand."""
    parsed = make_url(url)
    return safe_url(url) if parsed.password else url
