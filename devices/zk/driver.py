"""The pyzk driver: a session with a terminal that returns plain values, never pyzk objects.

pyzk 0.9 carries the session (connect, comm key, framing). Its `get_attendance()` is not used:
it re-slices the buffer once per record (quadratic) and aborts the whole pull on one record
with an impossible date. Instead the raw attendance buffer is read through pyzk's own session
and parsed in one pass by `devices.zk.records`; reading only the tail of the buffer makes an
incremental poll cost the new records, not the whole log.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from zk import ZK

from devices.types import BadRecord, DeviceInfo, DevicePunch
from devices.zk import protocol as p
from devices.zk.errors import DeviceError, DeviceProtocolError, DeviceUnreachable, map_errors
from devices.zk.records import (
    USER_SIZES,
    Parsed,
    ZKUser,
    detect_record_size,
    parse_attendance,
    parse_users,
)

Transport = Literal["tcp", "udp", "auto"]
TCP_CHUNK = 0xFFC0  # the chunk sizes pyzk itself asks for over each transport
UDP_CHUNK = 16 * 1024
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ZKTarget:
    """Where a terminal is and how to talk to it."""

    host: str
    port: int = 4370
    transport: Transport = "auto"  # auto: TCP first, UDP when TCP is refused
    comm_key: int = 0
    timeout: float = 5.0
    encoding: str = "utf-8"

    def __repr__(self) -> str:  # the comm key never appears in logs or tracebacks
        return f"ZKTarget({self.host}:{self.port}/{self.transport})"


@dataclass(frozen=True, slots=True)
class LogCursor:
    """How far a terminal's log has been read: layout, record count and the last record."""

    record_size: int
    count: int
    tail: str = ""  # hex of record `count - 1`; a different record there means a new log

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form for the store."""
        return {"record_size": self.record_size, "count": self.count, "tail": self.tail}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LogCursor | None:
        """The cursor stored by `as_dict`, or None when there is none."""
        if not data or "count" not in data:
            return None
        return cls(int(data["record_size"]), int(data["count"]), str(data.get("tail", "")))


@dataclass(frozen=True, slots=True)
class LogRead:
    """The records of one read that were not read before, and the cursor after them."""

    items: list[Parsed]
    cursor: LogCursor
    total: int  # records on the terminal at the read
    reread: bool  # the log was read from its start (first read, cleared, rolled over)
    reason: str


class _EofGuard:
    """A socket whose `recv` raises on a closed peer: pyzk loops forever on an empty read."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        if not data and size:
            raise ConnectionResetError("the device closed the connection")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ZKSession:
    """One connection to one terminal; use as a context manager."""

    def __init__(self, target: ZKTarget) -> None:
        self.target = target
        self.transport: str | None = None
        self._zk: Any = None

    # pyzk keeps its socket and last reply in name-mangled attributes; the partial buffer
    # read and the EOF guard need them, and pyzk offers no public way in.
    def _private(self, name: str) -> Any:
        return getattr(self._zk, f"_ZK__{name}")

    def __enter__(self) -> ZKSession:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> ZKSession:
        """Open the session (TCP, UDP, or TCP falling back to UDP)."""
        t = self.target
        modes = ["tcp", "udp"] if t.transport == "auto" else [t.transport]
        last: DeviceError | None = None
        for mode in modes:
            zk = ZK(
                t.host,
                port=t.port,
                timeout=t.timeout,
                password=t.comm_key,
                force_udp=mode == "udp",
                ommit_ping=True,
                encoding=t.encoding,
            )
            # pyzk opens a UDP socket in __init__ and replaces it in connect() without closing.
            zk._ZK__sock.close()
            try:
                with map_errors():
                    zk.connect()
            except DeviceUnreachable as exc:
                _close_socket(zk)
                last = exc
                continue
            except DeviceError:
                _close_socket(zk)
                raise
            self._zk = zk
            self.transport = mode
            zk._ZK__sock = _EofGuard(zk._ZK__sock)
            return self
        raise last or DeviceUnreachable("no transport to try")

    @property
    def zk(self) -> Any:
        """The pyzk object (for the emulator tests and the benchmark)."""
        if self._zk is None:
            raise DeviceUnreachable("not connected")
        return self._zk

    def close(self) -> None:
        """End the session politely if possible; always release the socket."""
        zk, self._zk = self._zk, None
        if zk is None:
            return
        try:
            with map_errors():
                zk.disconnect()
        except DeviceError:
            pass
        finally:
            _close_socket(zk)

    def clock(self) -> datetime:
        """The terminal's clock (naive, in its local zone)."""
        with map_errors():
            return self.zk.get_time()  # type: ignore[no-any-return]

    def set_clock(self, when: datetime) -> None:
        """Set the terminal's clock to a naive local time."""
        with map_errors():
            self.zk.set_time(when)

    def sizes(self) -> DeviceInfo:
        """Counts and capacities (one round trip)."""
        zk = self.zk
        with map_errors():
            zk.read_sizes()
        return DeviceInfo(
            users=zk.users,
            records=zk.records,
            record_capacity=zk.rec_cap,
            user_capacity=zk.users_cap,
        )

    def info(self) -> DeviceInfo:
        """Identity, counts, capacities and clock."""
        zk = self.zk
        with map_errors():
            zk.read_sizes()
            firmware = zk.get_firmware_version()
            serial = zk.get_serialnumber()
            platform = zk.get_platform()
            name = zk.get_device_name()
            mac = zk.get_mac()
            clock = zk.get_time()
        return DeviceInfo(
            serial=serial or None,
            platform=platform or None,
            firmware=firmware or None,
            device_name=name or None,
            mac=mac or None,
            users=zk.users,
            records=zk.records,
            record_capacity=zk.rec_cap,
            user_capacity=zk.users_cap,
            clock=clock,
            extra={"transport": self.transport or ""},
        )

    def users(self) -> list[ZKUser]:
        """The enrolled users, names decoded in the terminal's code page."""
        with map_errors():
            self.zk.read_sizes()
            count = int(self.zk.users)
            if count == 0:
                return []
            total_size, inline = self._prepare(p.CMD_USERTEMP_RRQ, p.FCT_USER)
            try:
                data = self._range(inline, 0, total_size, None)
            finally:
                if inline is None:
                    self.zk.free_data()
        body = struct.unpack_from("<I", data)[0] if len(data) >= 4 else 0
        size = body // count if count else 0
        if size not in USER_SIZES:
            raise DeviceProtocolError(f"user table of {body} bytes for {count} users")
        return parse_users(data[4 : 4 + body], size, self.target.encoding)

    def users_by_uid(self) -> dict[int, str]:
        """The terminal's user slots → PINs (8-byte records name users by slot only)."""
        return {u.uid: u.user_id for u in self.users()}

    def read_log(
        self,
        cursor: LogCursor | None,
        progress: Progress | None = None,
        sink: Callable[[list[Parsed]], None] | None = None,
    ) -> LogRead:
        """Read the records added since `cursor` (all of them when the log is new to us).

        With a `sink`, the records go to it a chunk at a time as they arrive (the returned
        `items` is then empty), so a caller can work on them while the rest is read.
        """
        with map_errors():
            return self._read_log(cursor, progress, sink)

    def _read_log(
        self,
        cursor: LogCursor | None,
        progress: Progress | None,
        sink: Callable[[list[Parsed]], None] | None,
    ) -> LogRead:
        zk = self.zk
        zk.read_sizes()
        hint = int(zk.records)
        if hint == 0:
            size = cursor.record_size if cursor else 0
            had = bool(cursor and cursor.count)
            return LogRead([], LogCursor(size, 0), 0, had, "log cleared" if had else "log empty")
        total_size, inline = self._prepare(p.CMD_ATTLOG_RRQ)
        items: list[Parsed] = []
        try:
            body = total_size - 4
            rs = None
            if cursor and cursor.record_size and body % cursor.record_size == 0:
                rs = cursor.record_size
            rs = rs or detect_record_size(body, hint)
            if rs is None:
                raise DeviceProtocolError(f"attendance buffer of {body} bytes fits no layout")
            count = body // rs
            start, reason = 0, "first read"
            if cursor and not cursor.count and cursor.record_size in (0, rs):
                reason = "incremental"  # the log was empty (or cleared by us) at the last read
            elif cursor and cursor.count:
                if cursor.record_size != rs:
                    reason = "record layout changed"
                elif cursor.count > count:
                    reason = "log cleared or rolled over"
                elif (
                    self._range(inline, 4 + (cursor.count - 1) * rs, rs, None).hex() == cursor.tail
                ):
                    start, reason = cursor.count, "incremental"  # the last record read is in place
                else:
                    reason = "log rolled over" if count >= cursor.count else "log cleared"
            chunks = self._chunks(inline, 4 + start * rs, (count - start) * rs, progress)
            if sink is None or rs == 8:  # 8-byte records name users by slot: parsed once known
                data = b"".join(chunks)
            else:
                data = _stream_records(chunks, rs, start, self.target.encoding, sink)
        finally:
            if inline is None:
                zk.free_data()
        if sink is None or rs == 8:
            users = self.users_by_uid() if rs == 8 else None
            items = parse_attendance(
                data, rs, first_position=start, users_by_uid=users, encoding=self.target.encoding
            )
            if sink is not None:
                sink(items)
                items = []
        tail_source = data[-rs:] if data else bytes.fromhex(cursor.tail) if cursor else b""
        new_cursor = LogCursor(rs, count, tail_source.hex() if count else "")
        return LogRead(items, new_cursor, count, reason != "incremental", reason)

    def _prepare(self, command: int, fct: int = 0, ext: int = 0) -> tuple[int, bytes | None]:
        """PREPARE_BUFFER: the dataset's size, and the dataset itself when sent inline."""
        send = self._private("send_command")
        reply = send(p.CMD_PREPARE_BUFFER, struct.pack("<bhii", 1, command, fct, ext), 1024)
        if not reply.get("status"):
            raise DeviceProtocolError("the terminal refused the buffered read")
        data = bytes(self._private("data"))
        if reply.get("code") == p.CMD_DATA:
            if self.zk.tcp:
                missing = self._private("tcp_length") - 8 - len(data)
                if missing > 0:
                    data += self._private("recieve_raw_data")(missing)
            return len(data), data
        return struct.unpack_from("<I", data, 1)[0], None

    def _range(
        self, inline: bytes | None, start: int, length: int, progress: Progress | None
    ) -> bytes:
        """Bytes [start, start+length) of the prepared buffer."""
        return b"".join(self._chunks(inline, start, length, progress))

    def _chunks(
        self, inline: bytes | None, start: int, length: int, progress: Progress | None
    ) -> Iterator[bytes]:
        """Bytes [start, start+length) of the prepared buffer, in pyzk-sized chunks."""
        if inline is not None:
            yield inline[start : start + length]
            return
        read_chunk = self._private("read_chunk")
        step = TCP_CHUNK if self.zk.tcp else UDP_CHUNK
        done = 0
        while done < length:
            size = min(step, length - done)
            chunk = read_chunk(start + done, size)
            if not chunk:
                raise DeviceProtocolError("empty chunk from the terminal")
            done += len(chunk)
            if progress is not None:
                progress(done, length)
            yield chunk

    def clear_log(self) -> None:
        """Erase the terminal's attendance log."""
        with map_errors():
            self.zk.clear_attendance()

    def clear_log_if_count(self, expected: int) -> bool:
        """Erase the log only if it still holds exactly `expected` records.

        The terminal is disabled around the recount and the clear, so a punch cannot land
        between them and be erased unread.
        """
        zk = self.zk
        with map_errors():
            zk.disable_device()
            try:
                zk.read_sizes()
                if int(zk.records) != expected:
                    return False
                zk.clear_attendance()
                return True
            finally:
                zk.enable_device()

    def live(
        self, *, wait_s: float, should_stop: Callable[[], bool]
    ) -> Iterator[DevicePunch | BadRecord | None]:
        """Realtime punches as the terminal sends them; None every `wait_s` of silence."""
        zk = self.zk
        with map_errors():
            events = zk.live_capture(new_timeout=wait_s)
        while True:
            try:
                with map_errors():
                    event = next(events)
            except StopIteration:
                return
            if should_stop():
                zk.end_live_capture = True  # pyzk then unregisters events and returns
            if event is None:
                yield None
                continue
            yield DevicePunch(
                user_id=str(event.user_id),
                timestamp=event.timestamp,
                state=int(event.punch),
                verify=int(event.status),
                uid=int(event.uid) if str(event.uid).isdigit() else None,
            )


def _stream_records(
    chunks: Iterator[bytes],
    rs: int,
    position: int,
    encoding: str,
    sink: Callable[[list[Parsed]], None],
) -> bytes:
    """Parse `rs`-byte records chunk by chunk into `sink`; the last `rs` bytes read."""
    pending = last = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        whole = len(data) - len(data) % rs
        if whole:
            sink(parse_attendance(data[:whole], rs, first_position=position, encoding=encoding))
            position += whole // rs
        pending = data[whole:]
        last = (last + data[-rs:])[-rs:]  # at most two records copied
    if pending:  # a truncated last record: parse_attendance makes it a BadRecord
        sink(parse_attendance(pending, rs, first_position=position, encoding=encoding))
    return last


def _close_socket(zk: Any) -> None:
    sock = getattr(zk, "_ZK__sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
