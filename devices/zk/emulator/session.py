"""One client's session with an emulated terminal: the command handlers, transport-neutral."""

from __future__ import annotations

import itertools
import struct
from collections import deque
from collections.abc import Callable

from devices.zk import protocol as p
from devices.zk.emulator.terminal import Terminal

UDP_DATA_MAX = 1024  # pyzk reads UDP replies with recv(1032): 8 header bytes + 1024
INLINE_MAX = 1016  # a 1503 dataset this small goes back inline as one DATA packet
_session_ids = itertools.count(0x1F00)


class ClientSession:
    """Answers one client's packets; `send` gets the reply packets (unframed) to transmit."""

    def __init__(
        self,
        terminal: Terminal,
        send: Callable[[list[bytes]], None],
        *,
        udp: bool,
        schedule: Callable[[Callable[[bytes], None], bytes], object],
    ) -> None:
        self.terminal = terminal
        self.send = send
        self.schedule = schedule  # runs a callback in the transport's thread (events)
        self.udp = udp
        self.session_id = next(_session_ids) & 0xFFFF or 1
        self.authed = terminal.spec.comm_key == 0
        self.buffer: bytes | None = None
        self.events: deque[bytes] = deque()
        self.awaiting_ack = False
        self.listening = False
        self.closed = False

    def _reply(self, code: int, reply_id: int, payload: bytes = b"") -> bytes:
        return p.build_packet(code, self.session_id, reply_id, payload)

    def handle(self, packet: bytes) -> None:
        """Answer one request packet (a client's ACK_OK is an event acknowledgement: no reply)."""
        if len(packet) < 8:
            return
        code, _chk, _session, reply_id, payload = p.parse_packet(packet)
        if code == p.CMD_ACK_OK:
            self.awaiting_ack = False
            self._pump()
            return
        if code == p.CMD_CONNECT:
            self.authed = self.terminal.spec.comm_key == 0
            status = p.CMD_ACK_OK if self.authed else p.CMD_ACK_UNAUTH
            self.send([self._reply(status, reply_id)])
            return
        if code == p.CMD_AUTH:
            key = self.terminal.spec.comm_key
            ok = not self.terminal.faults.wrong_comm_key and (
                key == 0 or p.check_commkey(key, self.session_id, payload)
            )
            self.authed = ok
            self.send([self._reply(p.CMD_ACK_OK if ok else p.CMD_ACK_UNAUTH, reply_id)])
            return
        if not self.authed:
            self.send([self._reply(p.CMD_ACK_UNAUTH, reply_id)])
            return
        handler = self._handlers().get(code)
        if handler is None:
            self.send([self._reply(p.CMD_ACK_UNKNOWN, reply_id)])
            return
        self.send(handler(reply_id, payload))

    def _handlers(self) -> dict[int, Callable[[int, bytes], list[bytes]]]:
        ok = self._ok
        return {
            p.CMD_EXIT: self._exit,
            p.CMD_ENABLEDEVICE: self._enable,
            p.CMD_DISABLEDEVICE: self._disable,
            p.CMD_REFRESHDATA: ok,
            p.CMD_CANCELCAPTURE: ok,
            p.CMD_STARTVERIFY: ok,
            p.CMD_OPTIONS_WRQ: ok,
            p.CMD_GET_VERSION: self._version,
            p.CMD_OPTIONS_RRQ: self._option,
            p.CMD_GET_PINWIDTH: self._pin_width,
            p.CMD_GET_FREE_SIZES: self._sizes,
            p.CMD_GET_TIME: self._get_time,
            p.CMD_SET_TIME: self._set_time,
            p.CMD_PREPARE_BUFFER: self._prepare_buffer,
            p.CMD_READ_BUFFER: self._read_buffer,
            p.CMD_FREE_DATA: self._free_data,
            p.CMD_CLEAR_ATTLOG: self._clear_log,
            p.CMD_CLEAR_DATA: self._clear_log,
            p.CMD_REG_EVENT: self._reg_event,
        }

    def _ok(self, reply_id: int, _payload: bytes) -> list[bytes]:
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _exit(self, reply_id: int, _payload: bytes) -> list[bytes]:
        self.close()
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _enable(self, reply_id: int, _payload: bytes) -> list[bytes]:
        self.terminal.enabled = True
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _disable(self, reply_id: int, _payload: bytes) -> list[bytes]:
        self.terminal.enabled = False
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _version(self, reply_id: int, _payload: bytes) -> list[bytes]:
        return [self._reply(p.CMD_ACK_OK, reply_id, self.terminal.spec.firmware.encode() + b"\0")]

    def _option(self, reply_id: int, payload: bytes) -> list[bytes]:
        key = payload.split(b"\0", 1)[0].decode("ascii", "replace")
        value = self.terminal.options().get(key)
        if value is None:
            return [self._reply(p.CMD_ACK_ERROR, reply_id)]
        return [self._reply(p.CMD_ACK_OK, reply_id, f"{key}={value}\0".encode())]

    def _pin_width(self, reply_id: int, _payload: bytes) -> list[bytes]:
        # pyzk reads this reply with a 9-byte buffer: exactly one payload byte.
        return [self._reply(p.CMD_ACK_OK, reply_id, bytes([self.terminal.spec.pin_width]))]

    def _sizes(self, reply_id: int, _payload: bytes) -> list[bytes]:
        return [self._reply(p.CMD_ACK_OK, reply_id, self.terminal.sizes())]

    def _get_time(self, reply_id: int, _payload: bytes) -> list[bytes]:
        stamp = p.encode_time(self.terminal.now())
        return [self._reply(p.CMD_ACK_OK, reply_id, p.TIME.pack(stamp))]

    def _set_time(self, reply_id: int, payload: bytes) -> list[bytes]:
        try:
            when = p.decode_time(p.TIME.unpack_from(payload)[0])
        except (ValueError, struct.error):
            return [self._reply(p.CMD_ACK_ERROR, reply_id)]
        self.terminal.set_clock(when)
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _prepare_buffer(self, reply_id: int, payload: bytes) -> list[bytes]:
        try:
            _one, command, fct, _ext = struct.unpack_from("<bhii", payload)
        except struct.error:
            return [self._reply(p.CMD_ACK_ERROR, reply_id)]
        if command == p.CMD_ATTLOG_RRQ:
            data = self.terminal.attendance_dataset()
        elif command == p.CMD_USERTEMP_RRQ and fct == p.FCT_USER:
            data = self.terminal.user_dataset()
        else:
            return [self._reply(p.CMD_ACK_ERROR, reply_id)]
        if len(data) <= INLINE_MAX:
            return [self._reply(p.CMD_DATA, reply_id, data)]
        self.buffer = data
        info = struct.pack("<BIII", 0, len(data), len(data), 0)
        return [self._reply(p.CMD_ACK_OK, reply_id, info)]

    def _read_buffer(self, reply_id: int, payload: bytes) -> list[bytes]:
        if self.buffer is None or len(payload) < 8:
            return [self._reply(p.CMD_ACK_ERROR, reply_id)]
        start, size = struct.unpack_from("<ii", payload)
        chunk = self.buffer[start : start + size]
        out = [self._reply(p.CMD_PREPARE_DATA, reply_id, struct.pack("<II", len(chunk), 0))]
        if self.udp:
            out.extend(
                self._reply(p.CMD_DATA, reply_id, chunk[i : i + UDP_DATA_MAX])
                for i in range(0, len(chunk), UDP_DATA_MAX)
            )
        else:
            out.append(self._reply(p.CMD_DATA, reply_id, chunk))
        out.append(self._reply(p.CMD_ACK_OK, reply_id))
        return out

    def _free_data(self, reply_id: int, _payload: bytes) -> list[bytes]:
        self.buffer = None
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _clear_log(self, reply_id: int, _payload: bytes) -> list[bytes]:
        self.terminal.clear_log()
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    def _reg_event(self, reply_id: int, payload: bytes) -> list[bytes]:
        flags = struct.unpack_from("<I", payload)[0] if len(payload) >= 4 else 0
        if flags & p.EF_ATTLOG and not self.listening:
            self.listening = True
            self.terminal.listen(self._notify)
        elif not flags & p.EF_ATTLOG and self.listening:
            self.listening = False
            self.terminal.unlisten(self._notify)
            self.events.clear()
        return [self._reply(p.CMD_ACK_OK, reply_id)]

    # --- realtime events: one per packet, the next only after the client's ACK ---------------
    def _notify(self, payload: bytes) -> None:
        self.schedule(self.queue_event, payload)

    def queue_event(self, payload: bytes) -> None:
        """Queue an event for this client (in the transport's thread)."""
        self.events.append(payload)
        self._pump()

    def _pump(self) -> None:
        if self.awaiting_ack or not self.events or self.closed or not self.listening:
            return
        payload = self.events.popleft()
        self.awaiting_ack = True
        self.send([p.build_packet(p.CMD_REG_EVENT, p.EF_ATTLOG, 0, payload)])

    def close(self) -> None:
        """Forget the session and its event registration."""
        self.closed = True
        if self.listening:
            self.listening = False
            self.terminal.unlisten(self._notify)
