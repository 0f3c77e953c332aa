"""Several `punchgate serve` processes on one database, and which of them a socket belongs to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from soak.owners import SocketOwners, overlaps

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
__all__ = ["PUNCHGATE", "ServeProcess", "SocketOwners", "overlaps"]


class ServeProcess:
    """One `punchgate serve` child, in its own process group, with its output in a file."""

    def __init__(self, name: str, env: dict[str, str], roles: str, log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        full = {**os.environ, **env, "PUNCHGATE_NODE_ID": name}
        full.pop("PUNCHGATE_CONFIG", None)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [PUNCHGATE, "serve", "--roles", roles, "--port", "0"],
                env=full,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def output(self) -> str:
        """What it printed and logged so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean stop, its leases stay until they expire."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM and wait (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
