"""The soak's site agent: ZK terminals read by a `punchgate-agent` process, forwarded over HTTP.

The agent is created in the soak's database with a one-time token (as `punchgate agent
create` does) before the service first starts, so the service never polls its terminals;
it is enrolled against the service's API port and runs with its buffer in the soak's temp
dir. Its terminals' punches go into the ledger under the source `agent:<code>`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from collector.agent.enrolment import create_agent
from collector.runtime import open_store, utcnow
from collector.settings import Settings
from devices.zk.emulator.terminal import Terminal
from soak.procs import ChildProcess, Children

AGENT_CODE = "soak-site"
# Pushed to the agent by the centre: fast contact and forwarding, small batches, so that a
# backlog spans many batches and a kill can fall between two of them.
AGENT_OPTIONS: dict[str, float | int] = {
    "poll_interval_s": 2.0,
    "contact_interval_s": 2.0,
    "forward_interval_s": 0.5,
    "batch_size": 25,
}
AGENT_ENV = {
    "PUNCHGATE_ZK_TIMEOUT_S": "3",
    "PUNCHGATE_ZK_RETRY_BASE_S": "1",
    "PUNCHGATE_ZK_RETRY_MAX_S": "5",
    "PUNCHGATE_LOG_LEVEL": "INFO",
}


def agent_code(i: int) -> str:
    """Device code of ZK terminal i behind the site agent."""
    return f"agent-zk-{i + 1}"


def create(settings: Settings, terminals: list[str]) -> str:
    """Create the soak's agent for `terminals` (already declared); its one-time token."""
    store = open_store(settings)
    try:
        with store.sessions.begin() as session:
            made = create_agent(
                session,
                code=AGENT_CODE,
                name="Soak site agent",
                terminals=terminals,
                options=AGENT_OPTIONS,
                now=utcnow(),
                ttl=timedelta(hours=1),
                actor="soak",
            )
        return made.token
    finally:
        store.close()


def backlog(terminal: Terminal, count: int) -> int:
    """Put `count` past punches on `terminal` (one a minute over the last day); how many."""
    start = terminal.now() - timedelta(days=1)
    users = terminal.users
    for n in range(count):
        user = users[n % len(users)]
        terminal.punch(user.user_id, state=n % 2, verify=15, when=start + timedelta(minutes=n))
    return count


class AgentProcess(ChildProcess):
    """`punchgate-agent run` on a buffer file in the soak's temp dir, as systemd would run it."""

    stop_timeout = 20.0
    tail_lines = 30

    def __init__(self, root: Path, children: Children) -> None:
        self.root = root / "agent"
        self.root.mkdir(parents=True, exist_ok=True)
        self.buffer = self.root / "buffer.sqlite3"
        self.exe = str(Path(sys.executable).parent / "punchgate-agent")
        # Nothing of the service's PUNCHGATE_* settings: the agent takes its own from the centre.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")}
        super().__init__(self.root / "agent.log", env | AGENT_ENV, children)

    def enrol(self, url: str, token: str) -> None:
        """Exchange the one-time token for the agent's credential."""
        done = subprocess.run(
            [self.exe, "enrol", "--buffer", str(self.buffer), "--", url, token],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"punchgate-agent enrol failed: {done.stderr[-2000:]}")

    def start(self) -> None:
        """Start `run` in the background."""
        self.launch([self.exe, "run", "--buffer", str(self.buffer)])

    def depth(self) -> int | None:
        """Punches in the buffer not yet acknowledged by the centre (None: unreadable now)."""
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.buffer}?mode=ro", uri=True)) as c:
                return int(c.execute("SELECT count(*) FROM punches").fetchone()[0])
        except sqlite3.Error:
            return None

    def figures(self) -> dict[str, Any]:
        """For the report."""
        return {"starts": self.starts, "buffer_left": self.depth()}
