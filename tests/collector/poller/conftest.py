"""Emulated terminals plus a store configured with them, for the poller tests."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from collector.cli import app
from collector.config import apply_config, parse_config
from collector.poller.worker import TerminalPollerWorker
from collector.runtime import Store
from collector.store.db import make_sessionmaker
from collector.store.models import Device, Punch, Quarantine
from devices.types import DevicePunch
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import history, make_users
from tests.conftest import TEST_SECRET_KEY

HISTORY_END = date(2026, 11, 26)


@pytest.fixture
def emulator() -> Iterator[EmulatorHost]:
    """An emulator host on free loopback ports."""
    with EmulatorHost() as host:
        yield host


@pytest.fixture
def zk_store(settings, engine, now) -> Store:
    """A store whose settings suit fast tests (short timeouts and retries)."""
    tuned = settings.model_copy(
        update={
            "zk_timeout_s": 2.0,
            "zk_retry_base_s": 0.05,
            "zk_retry_max_s": 0.2,
            "zk_workers": 8,
        }
    )
    return Store(settings=tuned, engine=engine, sessions=make_sessionmaker(engine))


@pytest.fixture
def add_terminal(emulator, zk_store, now) -> Callable[..., Terminal]:
    """Start an emulated terminal and declare it as a device (as the TOML file would)."""

    def add(
        code: str,
        *,
        records: int = 200,
        users: int = 30,
        transport: str = "tcp",
        comm_key: int | None = None,
        device_key: int | None = None,
        options: dict[str, Any] | None = None,
        timezone: str = "UTC",
        seed: int | None = None,
        first_code: int = 1001,
        direction_mode: str = "auto",
        **spec: Any,
    ) -> Terminal:
        people = make_users(users, first_code=first_code)
        key = comm_key or 0
        terminal = Terminal(
            TerminalSpec(name=code, comm_key=key, timezone=timezone, serial=f"SN-{code}", **spec),
            people,
            history(
                people,
                records,
                end=HISTORY_END,
                seed=zlib.crc32(code.encode()) if seed is None else seed,
            )
            if records
            else [],
        )
        port = emulator.add(terminal)
        device: dict[str, Any] = {
            "code": code,
            "kind": "zk",
            "host": "127.0.0.1",
            "port": port,
            "transport": transport,
            "timezone": timezone,
            "direction_mode": direction_mode,
            "options": options or {},
        }
        configured_key = device_key if device_key is not None else comm_key
        if configured_key:
            device["comm_key"] = str(configured_key)
        with zk_store.sessions.begin() as session:
            apply_config(session, parse_config({"devices": [device]}), now=now, box=zk_store.box)
        return terminal

    return add


def punch_count(store: Store, device: str | None = None) -> int:
    """Punches stored (from one device)."""
    query = select(func.count()).select_from(Punch)
    if device:
        query = query.where(Punch.device_code == device)
    with store.sessions() as s:
        return int(s.scalar(query) or 0)


def quarantine_rows(store: Store) -> list[Quarantine]:
    """Quarantined items."""
    with store.sessions() as s:
        return list(s.scalars(select(Quarantine)))


def device_row(store: Store, code: str) -> Device:
    """A device row as stored."""
    with store.sessions() as s:
        return s.scalars(select(Device).where(Device.code == code)).one()


def distinct_punches(terminal: Terminal) -> int:
    """How many distinct (person, second) punches a terminal's log holds."""
    from devices.zk.records import parse_attendance

    items = parse_attendance(bytes(terminal.log), terminal.spec.record_size)
    return len({(i.user_id, i.timestamp) for i in items if isinstance(i, DevicePunch)})


def declare_http_device(
    store: Store,
    now: datetime,
    kind: str,
    code: str,
    port: int,
    *,
    timezone: str,
    password: str,
    options: dict[str, Any] | None = None,
) -> None:
    """Declare an emulated HTTP device on 127.0.0.1 (user admin, 5 s timeout) as the TOML would."""
    device = {
        "code": code,
        "kind": kind,
        "host": "127.0.0.1",
        "port": port,
        "timezone": timezone,
        "comm_key": password,
        "options": {"username": "admin", "timeout_s": 5, **(options or {})},
    }
    with store.sessions.begin() as session:
        apply_config(session, parse_config({"devices": [device]}), now=now, box=store.box)


@contextmanager
def emulate(*args: str) -> Iterator[dict[str, Any]]:
    """`punchgate emulate ARGS` in a child process; yields the JSON line it prints first."""
    punchgate = str(Path(sys.executable).parent / "punchgate")
    proc = subprocess.Popen([punchgate, "emulate", *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


@pytest.fixture
def sync_cli(zk_store, monkeypatch) -> Callable[..., Result]:
    """`punchgate sync ARGS` on the test store (the test secret key opens sealed passwords)."""
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    monkeypatch.setenv("PUNCHGATE_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["sync", *args])


def json_summary(result: Result) -> dict[str, Any]:
    """The JSON summary `punchgate sync --json` prints last."""
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def poll_once(store: Store, codes: list[str]) -> list[str]:
    """One pass of the poller worker over `codes`: the devices whose poll succeeded."""
    worker = TerminalPollerWorker(store, codes=codes)
    try:
        outcomes = worker.poll_all()
    finally:
        worker.stop()
    return [o.device for o in outcomes if o]
