"""Who holds a loopback socket, and whether two processes talked to one terminal at once."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Protocol


class Session(Protocol):
    """A client session as an emulated terminal logged it (`ClientConnection`)."""

    @property
    def who(self) -> object: ...
    @property
    def opened(self) -> float: ...
    @property
    def closed(self) -> float | None: ...
    @property
    def transport(self) -> str: ...
    @property
    def last(self) -> float | None: ...


NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
NLM_F_REQUEST_DUMP, NLMSG_DONE, NLMSG_ERROR = 0x301, 3, 2
BC_S_GE, BC_S_LE = 2, 3  # inet_diag bytecode: source port >= / <= the next op's `no`


def sport_filter(port: int) -> bytes:
    """inet_diag bytecode accepting sockets whose local port is `port` (S_GE and S_LE)."""
    op = struct.Struct("=BBH")
    # Each test is two ops (8 bytes); "no" jumps past the end + 4, which rejects.
    return (
        op.pack(BC_S_GE, 8, 20)
        + op.pack(0, 0, port)
        + op.pack(BC_S_LE, 8, 12)
        + op.pack(0, 0, port)
    )


def diag_request(port: int, protocol: int) -> bytes:
    """A SOCK_DIAG_BY_FAMILY dump request for IPv4 `protocol` sockets bound to `port`."""
    bytecode = sport_filter(port)
    attr = struct.pack("=HH", 4 + len(bytecode), 1) + bytecode  # INET_DIAG_REQ_BYTECODE
    body = struct.pack("=BBBBI", socket.AF_INET, protocol, 0, 0, 0xFFFFFFFF) + bytes(48) + attr
    return (
        struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST_DUMP, 1, 0) + body
    )


def parse_diag(data: bytes) -> tuple[list[int], bool]:
    """Inodes in one netlink answer, and whether the dump is done."""
    inodes: list[int] = []
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, off)
        if kind == NLMSG_DONE:
            return inodes, True
        if kind == NLMSG_ERROR:
            raise OSError(-struct.unpack_from("=i", data, off + 16)[0], "sock_diag refused")
        # inet_diag_msg: family, state, timer, retrans, id (48), expires, queues, uid, inode
        inodes.append(struct.unpack_from("=I", data, off + 16 + 68)[0])
        off += (length + 3) & ~3
        if length == 0:
            break
    return inodes, False


def inodes_of_port(port: int, protocol: int) -> list[int]:
    """Inodes of this host's IPv4 sockets bound to local `port` (netlink sock_diag).

    Reading /proc/net/tcp costs ~10 ms per few hundred sockets (the kernel prints them
    all); with a thousand emulated terminals that is too slow to run for every session.
    """
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as s:
        s.sendto(diag_request(port, protocol), (0, 0))
        out: list[int] = []
        while True:
            found, done = parse_diag(s.recv(1 << 16))
            out += [i for i in found if i]
            if done:
                return out


class SocketOwners:
    """Maps a client address seen by an emulated terminal to the pid holding that socket.

    Called on the emulator's loop thread for every new session (TCP or UDP), while the
    client waits for the answer to its CONNECT, so the socket still exists.
    """

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.lookups = 0
        self.seconds = 0.0

    def __call__(self, peer: tuple[str, int]) -> int | None:
        """The pid (among `pids`) whose file descriptors include the peer's socket."""
        t0 = time.perf_counter()
        try:
            for protocol in (socket.IPPROTO_TCP, socket.IPPROTO_UDP):
                try:
                    inodes = inodes_of_port(peer[1], protocol)
                except OSError:
                    continue
                for inode in inodes:
                    pid = self._pid_of(str(inode))
                    if pid is not None:
                        return pid
            return None
        finally:
            self.lookups += 1
            self.seconds += time.perf_counter() - t0

    def _pid_of(self, inode: str) -> int | None:
        wanted = f"socket:[{inode}]"
        for pid in list(self.pids):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in reversed(fds):  # a new socket tends to have a high descriptor
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
                except OSError:
                    continue
        return None


def overlaps(
    connections: Iterable[Session],
    *,
    deaths: Mapping[object, float] | None = None,
    now: float | None = None,
) -> list[tuple[object, object]]:
    """Pairs of sessions of different processes open at the same time on one terminal.

    A session ends when the terminal saw it end, or when its process died (`deaths`, pid to
    time). A UDP session has no connection for the kernel to close: one its client left
    without CMD_EXIT (killed, timed out) ends at the client's last datagram.
    """
    deaths = deaths or {}
    end_of_time = time.time() if now is None else now

    def end(c: Session) -> float:
        closed = c.closed
        if closed is None:
            # A UDP session nobody closed lasted until its client's last datagram.
            closed = c.last if c.transport == "udp" and c.last is not None else end_of_time
        died = deaths.get(c.who)
        return min(closed, died) if died is not None else closed

    ordered = sorted(connections, key=lambda c: c.opened)
    found = []
    for i, a in enumerate(ordered):
        a_end = end(a)
        for b in ordered[i + 1 :]:
            if b.opened >= a_end:
                break
            if b.who != a.who:
                found.append((a.who, b.who))
    return found
