"""The emulator's network side: TCP and UDP on one port per terminal, many terminals per loop.

Every reply goes out in one write (TCP) or one datagram per packet (UDP), because pyzk reads
each reply with a single `recv`. Dropped connections are reset (RST), never closed with FIN:
pyzk 0.9 spins forever on a peer that closes cleanly in the middle of a transfer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from devices.zk import protocol as p
from devices.zk.emulator.session import ClientSession
from devices.zk.emulator.terminal import ClientConnection, Terminal

log = logging.getLogger(__name__)
MAX_PACKET = 1 << 20
MAX_UDP_SESSIONS = 256
LINGER_RESET = struct.pack("ii", 1, 0)


def _take_corruption(terminal: Terminal) -> bool:
    n = terminal.faults.corrupt_reply
    if n is None:
        return False
    if n <= 1:
        terminal.faults.corrupt_reply = None
        return True
    terminal.faults.corrupt_reply = n - 1
    return False


def _garble(data: bytes) -> bytes:
    return bytes(b ^ 0xFF for b in data[:4]) + data[4:]


def _unread_bytes(key: str) -> int | None:
    """The receive-queue length of the local TCP socket `key` names (None: not found)."""
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if len(fields) > 4 and f"{fields[1]} {fields[2]}" == key:
                    return int(fields[4].split(":")[1], 16)
    except OSError:
        return None
    return None


class _TcpConnection:
    """One TCP client: frames replies, paces chunked ones, applies the drop and corruption faults.

    Real firmware answers a READ_BUFFER with PREPARE_DATA, then (a moment later) the DATA and
    the closing ACK_OK, and the next chunk's PREPARE_DATA only after another pause. The npm
    clients (node-zklib, zkteco-js) parse one packet per socket read and discard whatever else
    that read held once a chunk is complete, so a reply written in one burst loses data there:
    replies are queued and written by one task that pauses where firmware does.
    """

    def __init__(self, terminal: Terminal, writer: asyncio.StreamWriter) -> None:
        self.terminal = terminal
        self.writer = writer
        self.sent = 0
        self.chunks = 0
        self.aborted = False
        self.queue: asyncio.Queue[tuple[bytes, bool, bool] | None] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._write_loop())

    def send(self, packets: list[bytes]) -> None:
        if self.aborted or self.writer.is_closing():
            return
        faults = self.terminal.faults
        chunked = any(p.HEADER.unpack_from(pk)[0] == p.CMD_PREPARE_DATA for pk in packets)
        if chunked:
            self.chunks += 1
            limit = faults.drop_after_chunks
            if limit is not None and self.chunks > limit:
                faults.drop_after_chunks = None
                self.queue.put_nowait((b"", False, True))
                return
        framed = [p.tcp_frame(pk) for pk in packets]
        # PREPARE_DATA goes alone; the DATA and the ACK_OK that closes the chunk go together.
        pieces = (
            [framed[0], b"".join(framed[1:])] if chunked and len(framed) > 1 else [b"".join(framed)]
        )
        if _take_corruption(self.terminal):
            pieces[0] = _garble(pieces[0])
        for piece in pieces:
            limit = faults.drop_after_bytes
            if limit is not None and self.sent + len(piece) >= limit:
                faults.drop_after_bytes = None
                self.queue.put_nowait((piece[: max(limit - self.sent, 0)], False, True))
                return
            self.sent += len(piece)
            self.queue.put_nowait((piece, chunked, False))

    def _peer_key(self) -> str | None:
        """The client socket's row key in /proc/net/tcp, when the client is on this host."""
        try:
            ours = self.writer.get_extra_info("sockname")
            theirs = self.writer.get_extra_info("peername")
            if not (ours and theirs and theirs[0] == ours[0]):
                return None
            addr = f"{struct.unpack('<I', socket.inet_aton(theirs[0]))[0]:08X}"
            mine = f"{struct.unpack('<I', socket.inet_aton(ours[0]))[0]:08X}"
        except (OSError, TypeError, ValueError, struct.error):
            return None
        return f"{addr}:{theirs[1]:04X} {mine}:{ours[1]:04X}"

    async def _peer_caught_up(self, key: str, limit_s: float = 2.0) -> bool:
        """Wait (bounded) until a client on this host has read all we sent; False: unknown.

        Firmware is slow enough that a client reads each part of a chunked reply on its own;
        on loopback the emulator waits for the client's receive queue to empty instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        delay = 0.0
        while (unread := _unread_bytes(key)) is not None:
            if unread == 0 or loop.time() > deadline:
                return True
            await asyncio.sleep(delay)
            delay = 0.0005
        return False

    async def _write_loop(self) -> None:
        gap = self.terminal.spec.chunk_gap_ms / 1000
        peer = self._peer_key()
        paced = False  # the last write was part of a chunked reply
        while (item := await self.queue.get()) is not None:
            data, pause, abort = item
            if self.aborted:
                continue
            if paced:
                # Wait only now, when there is more to write: a client that asks for the
                # next chunk after reading this one (pyzk, zkteco-js) is not held up.
                with contextlib.suppress(ConnectionError, OSError):
                    await self.writer.drain()
                # A client elsewhere cannot be watched: pause as long as firmware would.
                if not (peer and await self._peer_caught_up(peer)) and gap:
                    await asyncio.sleep(gap)
            if data:
                self.writer.write(data)
            paced = pause
            if abort:
                self.abort()

    async def flush(self) -> None:
        """Write out every queued reply, then stop the writer task."""
        self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.task), timeout=10)

    def abort(self) -> None:
        """Reset the connection (RST), as a terminal losing power or link does."""
        if self.aborted:
            return
        self.aborted = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        self.writer.transport.abort()


class _UdpTerminal(asyncio.DatagramProtocol):
    """The UDP side of one terminal: a session per client address."""

    def __init__(
        self,
        terminal: Terminal,
        loop: asyncio.AbstractEventLoop,
        log_connection: Callable[[Terminal, Any, str], ClientConnection],
    ) -> None:
        self.terminal = terminal
        self.loop = loop
        self.log_connection = log_connection
        self.records: dict[Any, ClientConnection] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: dict[Any, ClientSession] = {}
        self.sent: dict[Any, int] = {}
        self.muted: set[Any] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 8 or self.terminal.faults.offline:
            return
        code = p.HEADER.unpack_from(data)[0]
        session = self.sessions.get(addr)
        if session is None or code == p.CMD_CONNECT:
            if session is not None:
                session.close()
            if len(self.sessions) >= MAX_UDP_SESSIONS:
                oldest = next(iter(self.sessions))
                self.sessions.pop(oldest).close()
            session = ClientSession(
                self.terminal,
                functools.partial(self._send, addr),
                udp=True,
                schedule=self.loop.call_soon_threadsafe,
            )
            self.sessions[addr] = session
            previous = self.records.get(addr)
            if previous is not None and previous.closed is None:
                previous.closed = time.time()
            self.records[addr] = self.log_connection(self.terminal, addr, "udp")
            self.sent[addr] = 0
            self.muted.discard(addr)
        record = self.records.get(addr)
        if record is not None:
            record.last = time.time()
        if addr in self.muted:
            return  # a "dropped" UDP client hears nothing more until it reconnects
        latency = self.terminal.faults.latency_s
        if latency:
            self.loop.call_later(latency, self._handle, addr, session, data)
        else:
            self._handle(addr, session, data)

    def _handle(self, addr: Any, session: ClientSession, data: bytes) -> None:
        session.handle(data)
        if session.closed and self.sessions.get(addr) is session:
            del self.sessions[addr]
            record = self.records.pop(addr, None)
            if record is not None:
                record.closed = time.time()
            self.sent.pop(addr, None)

    def _send(self, addr: Any, packets: list[bytes]) -> None:
        if self.transport is None or addr in self.muted:
            return
        faults = self.terminal.faults
        if any(p.HEADER.unpack_from(pk)[0] == p.CMD_PREPARE_DATA for pk in packets):
            limit = faults.drop_after_chunks
            if limit is not None:
                if limit <= 0:
                    faults.drop_after_chunks = None
                    self.muted.add(addr)
                    return
                faults.drop_after_chunks = limit - 1
        for pk in packets:
            if _take_corruption(self.terminal):
                pk = _garble(pk)
            limit = faults.drop_after_bytes
            sent = self.sent.get(addr, 0)
            if limit is not None and sent + len(pk) >= limit:
                faults.drop_after_bytes = None
                self.muted.add(addr)
                return
            self.sent[addr] = sent + len(pk)
            self.transport.sendto(pk, addr)


class EmulatorHost:
    """Runs any number of emulated terminals on one asyncio loop in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        on_connect: Callable[[tuple[str, int]], object] | None = None,
    ) -> None:
        self.host = host
        # Called (on the loop thread) with each new client's address; its answer is kept
        # in the terminal's connection log as `who` (a test maps the port to a process).
        self.on_connect = on_connect
        self.loop = asyncio.new_event_loop()
        self.terminals: dict[int, Terminal] = {}
        self._thread = threading.Thread(target=self._run, name="zk-emulator", daemon=True)
        self._closers: list[Any] = []
        self._tcp: set[_TcpConnection] = set()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> EmulatorHost:
        """Start the loop thread."""
        self._thread.start()
        return self

    def __enter__(self) -> EmulatorHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, terminal: Terminal, port: int = 0) -> int:
        """Serve a terminal on `port` (0: a free one, the same for TCP and UDP); return it."""
        future = asyncio.run_coroutine_threadsafe(self._open(terminal, port), self.loop)
        bound = future.result(timeout=10)
        self.terminals[bound] = terminal
        return bound

    async def _open(self, terminal: Terminal, port: int) -> int:
        last: OSError | None = None
        for _ in range(50):  # a free TCP port may be taken on UDP: try another
            server: asyncio.Server | None = None
            try:
                bound = port
                if not terminal.spec.udp_only:
                    server = await asyncio.start_server(
                        functools.partial(self._tcp_client, terminal),
                        self.host,
                        port,
                        reuse_address=True,
                    )
                    bound = server.sockets[0].getsockname()[1]
                transport, _ = await self.loop.create_datagram_endpoint(
                    lambda: _UdpTerminal(terminal, self.loop, self._log_connection),
                    local_addr=(self.host, bound),
                )
            except OSError as exc:
                last = exc
                if server is not None:
                    server.close()
                if port:
                    raise
                continue
            if server is not None:
                self._closers.append(server)
            self._closers.append(transport)
            return int(transport.get_extra_info("sockname")[1])
        raise last or OSError("no free port")

    async def _tcp_client(
        self, terminal: Terminal, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = _TcpConnection(terminal, writer)
        if terminal.faults.offline:
            conn.abort()
            return
        self._tcp.add(conn)
        # Logged at its first packet: pyzk opens and closes a bare probe connection first.
        record: ClientConnection | None = None
        session = ClientSession(
            terminal, conn.send, udp=False, schedule=self.loop.call_soon_threadsafe
        )
        try:
            while not session.closed and not conn.aborted:
                top = await reader.readexactly(p.TCP_TOP.size)
                m1, m2, length = p.TCP_TOP.unpack(top)
                if (m1, m2) != p.TCP_MAGIC or not 8 <= length <= MAX_PACKET:
                    break
                packet = await reader.readexactly(length)
                if record is None:
                    peer = writer.get_extra_info("peername")
                    record = self._log_connection(terminal, peer, "tcp")
                record.last = time.time()
                if terminal.faults.latency_s:
                    await asyncio.sleep(terminal.faults.latency_s)
                session.handle(packet)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if record is not None:
                record.closed = time.time()
            session.close()
            await conn.flush()
            self._tcp.discard(conn)
            if not conn.aborted:
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.drain()
                writer.close()

    def _log_connection(self, terminal: Terminal, peer: Any, transport: str) -> ClientConnection:
        addr = (str(peer[0]), int(peer[1])) if peer else ("?", 0)
        who = self.on_connect(addr) if self.on_connect is not None else None
        record = ClientConnection(addr, transport, time.time(), who=who)
        with terminal.lock:
            terminal.connections.append(record)
        return record

    def set_offline(self, terminal: Terminal, offline: bool = True) -> None:
        """Unplug a terminal (its open connections are reset) or plug it back in."""
        terminal.faults.offline = offline
        if offline:

            def reset() -> None:
                for conn in list(self._tcp):
                    if conn.terminal is terminal:
                        conn.abort()

            self.loop.call_soon_threadsafe(reset)

    def stop(self) -> None:
        """Reset every client connection, close every socket and stop the loop."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            for conn in list(self._tcp):
                conn.abort()
            await asyncio.sleep(0.05)  # let the client tasks see the reset and finish
            for closer in self._closers:
                closer.close()
            for closer in self._closers:
                if isinstance(closer, asyncio.Server):
                    await closer.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        except Exception:  # stopping must not raise in a finally block
            log.exception("emulator shutdown failed")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
