"""Who holds a loopback socket, and whether two processes talked to one terminal at once."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from devices.zk.emulator import ClientConnection


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
