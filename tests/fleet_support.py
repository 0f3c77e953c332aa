"""Several `punchgate serve` processes on one database, and which of them a socket belongs to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from devices.zk.emulator import ClientConnection

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")


class SocketOwners:
    """Maps a client address seen by an emulated terminal to the pid holding that socket."""

    def __init__(self) -> None:
        self.pids: set[int] = set()

    def __call__(self, peer: tuple[str, int]) -> int | None:
        """The pid (among `pids`) whose file descriptors include the peer's socket."""
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()  # local address is field 1, the inode field 9
                if int(fields[1].rsplit(":", 1)[1], 16) != peer[1]:
                    continue
                pid = self._pid_of(fields[9])
                if pid is not None:
                    return pid
        return None

    def _pid_of(self, inode: str) -> int | None:
        wanted = f"socket:[{inode}]"
        for pid in list(self.pids):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
                except OSError:
                    continue
        return None


def overlaps(connections: Iterable[ClientConnection]) -> list[tuple[object, object]]:
    """Pairs of sessions of different processes open at the same time on one terminal."""
    ordered = sorted(connections, key=lambda c: c.opened)
    found = []
    for i, a in enumerate(ordered):
        end = a.closed if a.closed is not None else time.time()
        for b in ordered[i + 1 :]:
            if b.opened >= end:
                break
            if b.who != a.who:
                found.append((a.who, b.who))
    return found


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
