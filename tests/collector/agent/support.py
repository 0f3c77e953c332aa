"""A central service and site agents as real processes on 127.0.0.1, and emulated terminals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from collector.apikeys import Role, create_key
from collector.config import apply_config, parse_config
from collector.runtime import Store, utcnow
from collector.store.models import Punch
from devices.types import DevicePunch
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import history, make_users
from devices.zk.records import parse_attendance
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import free_port, wait_for

HISTORY_END = date(2026, 11, 26)
# Fast cadence for tests: the centre pushes these to the agent; the agent's own timeouts.
CENTRAL_ENV = {
    "PUNCHGATE_SECRET_KEY": TEST_SECRET_KEY,
    "PUNCHGATE_ZK_POLL_INTERVAL_S": "0.3",
    "PUNCHGATE_AGENT_CONTACT_INTERVAL_S": "0.5",
    "PUNCHGATE_AGENT_FORWARD_INTERVAL_S": "0.2",
    "PUNCHGATE_LOG_LEVEL": "WARNING",
}
AGENT_ENV = {
    "PUNCHGATE_ZK_TIMEOUT_S": "2",
    "PUNCHGATE_ZK_RETRY_BASE_S": "0.1",
    "PUNCHGATE_ZK_RETRY_MAX_S": "0.5",
    "PUNCHGATE_LOG_LEVEL": "INFO",
}


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without PUNCHGATE_* settings, plus `extra`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")} | extra


class CentralProcess:
    """The central API (uvicorn, as deployed with `--factory`) in a process of its own."""

    def __init__(self, db_url: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env(CENTRAL_ENV | {"PUNCHGATE_DATABASE_URL": db_url} | env)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CentralProcess:
        """Start and wait until /health answers."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "api.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        assert wait_for(self._healthy, timeout=60), self.log.read_text()[-3000:]
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"central exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, as a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop it (at the end of a test)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class AgentProcess:
    """`python -m collector.agent.site run` on a buffer file, as systemd would run it."""

    def __init__(self, buffer: Path, log: Path, **env: str) -> None:
        self.buffer = buffer
        self.log = log
        self.env = clean_env(AGENT_ENV | env)
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one agent command to its end."""
        return subprocess.run(
            [sys.executable, "-m", "collector.agent.site", *args, "--buffer", str(self.buffer)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> AgentProcess:
        """Start `run` in the background."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "collector.agent.site", "run", "--buffer", str(self.buffer)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: the buffer is left as a power cut would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


def emulated_terminal(
    host: EmulatorHost, code: str, *, records: int, users: int = 40, first_code: int = 1001
) -> tuple[Terminal, int]:
    """A ZK emulator terminal with `records` past punches; its port."""
    people = make_users(users, first_code=first_code)
    terminal = Terminal(
        TerminalSpec(name=code, serial=f"SN-{code}", record_capacity=max(200_000, records * 2)),
        people,
        history(people, records, end=HISTORY_END, seed=zlib.crc32(code.encode())),
    )
    return terminal, host.add(terminal)


def declare_terminal(store: Store, code: str, port: int, **fields: Any) -> None:
    """Declare a ZK device as the TOML file would."""
    device = {"code": code, "kind": "zk", "host": "127.0.0.1", "port": port, "transport": "tcp"}
    with store.sessions.begin() as session:
        apply_config(
            session, parse_config({"devices": [device | fields]}), now=utcnow(), box=store.box
        )


def admin_key(store: Store) -> dict[str, str]:
    """An admin API key's Authorization header."""
    with store.sessions.begin() as session:
        token = create_key(session, name="agent-admin", role=Role.ADMIN, now=utcnow()).token
    return {"Authorization": f"Bearer {token}"}


def distinct_punches(terminal: Terminal) -> set[tuple[str, str]]:
    """The distinct (person, second) punches a terminal's log holds."""
    items = parse_attendance(bytes(terminal.log), terminal.spec.record_size)
    return {(i.user_id, i.timestamp.isoformat()) for i in items if isinstance(i, DevicePunch)}


def stored(store: Store, device: str | None = None) -> int:
    """Punches in the central store (from one device)."""
    query = select(func.count()).select_from(Punch)
    if device:
        query = query.where(Punch.device_code == device)
    with store.engine.connect() as conn:
        return int(conn.scalar(query) or 0)
