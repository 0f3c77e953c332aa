"""One emulated terminal: its users, its attendance log, its clock, options and fault switches."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from devices.zk.protocol import encode_time, encode_timehex
from devices.zk.records import AttRecord, ZKUser, att_record, pack_attendance, pack_users

SIZES = struct.Struct("<23i")
EVENT_NUMERIC = struct.Struct("<IBB6s")  # 12 bytes: user id, verify, state, time
EVENT_STRING = struct.Struct("<24sBB6s4x")  # 36 bytes: the same with a string user id


@dataclass
class ClientConnection:
    """One client session as the terminal saw it: who, over what, from when to when."""

    peer: tuple[str, int]
    transport: str  # "tcp" or "udp"
    opened: float  # time.time()
    closed: float | None = None
    who: object = None  # what the host's on_connect hook said of the peer (tests: a pid)
    # The last packet from the client: a UDP client that stops without CMD_EXIT (killed,
    # timed out) leaves its session open for ever, but was in session only until then.
    last: float | None = None


@dataclass(frozen=True)
class TerminalSpec:
    """What a terminal is: layouts, identity, capacities, comm key and code page."""

    name: str = "terminal"
    record_size: int = 40  # attendance record layout: 8, 16 or 40 bytes
    user_size: int | None = None  # 28 or 72; default 72 with 40-byte records, else 28
    comm_key: int = 0
    encoding: str = "utf-8"  # code page of names: utf-8 or gbk
    timezone: str = "UTC"  # the zone the terminal's clock shows
    serial: str = "EMU0000000001"
    platform: str = "ZMM220_TFT"
    firmware: str = "Ver 6.60 Apr 28 2017"
    device_name: str = "EmuFace"
    mac: str = "00:17:61:00:00:01"
    pin_width: int = 9
    record_capacity: int = 200_000
    user_capacity: int = 3_000
    udp_only: bool = False  # TCP refused: the terminal answers on UDP only
    # Pause after each part of a chunked TCP reply (PREPARE_DATA | DATA + ACK_OK), as firmware
    # does: the npm clients parse one packet per socket read (docs/zk.md). A client on this
    # host is instead waited for until it has read each part.
    chunk_gap_ms: float = 5.0

    @property
    def users_layout(self) -> int:
        """The user record size served."""
        return self.user_size or (72 if self.record_size == 40 else 28)


@dataclass
class Faults:
    """Switches that make the terminal misbehave like real ones do; one-shot ones reset."""

    latency_s: float = 0.0  # added before every reply
    drop_after_bytes: int | None = None  # reset the next connection after this many bytes
    drop_after_chunks: int | None = None  # reset the connection after serving N READ_BUFFERs
    corrupt_reply: int | None = None  # garble the Nth reply from now (1 = the next one)
    wrong_comm_key: bool = False  # the terminal's key changed: every AUTH is refused
    memory_full: bool = False  # no free record slots; new punches are refused
    clear_after_reads: int | None = None  # erase the log after serving it N times
    roll_over_after_reads: int | None = None  # drop the oldest records after N log reads
    roll_over_records: int = 10  # how many records a roll-over drops
    offline: bool = False  # unplugged: TCP connections are reset, UDP datagrams unanswered


class Terminal:
    """A terminal's state; thread-safe, so tests and generators can punch while it serves."""

    def __init__(
        self,
        spec: TerminalSpec,
        users: list[ZKUser],
        records: list[AttRecord] | None = None,
    ) -> None:
        self.spec = spec
        self.users = list(users)
        self.by_user_id = {u.user_id: u for u in self.users}
        self.log = bytearray(pack_attendance(records or [], spec.record_size, spec.encoding))
        self.faults = Faults()
        self.enabled = True
        self.zone = ZoneInfo(spec.timezone)
        self.clock_offset = timedelta(0)
        self.lock = threading.Lock()
        # What this terminal generated, for soak accounting: (user id, local time) of every
        # punch recorded by punch(), and the user ids of impossible records added.
        self.ledger: list[tuple[str, datetime]] = []
        self.malformed: list[str] = []
        # Every client session, for checks that one collector at a time talks to it.
        self.connections: list[ClientConnection] = []
        self._listeners: list[Callable[[bytes], None]] = []

    # --- clock -----------------------------------------------------------------------
    def now(self) -> datetime:
        """The terminal's clock: naive local time in its zone, plus its offset."""
        local = datetime.now(UTC).astimezone(self.zone).replace(tzinfo=None)
        return (local + self.clock_offset).replace(microsecond=0)

    def set_clock(self, when: datetime) -> None:
        """Set the clock (a naive local time), as SET_TIME does."""
        local = datetime.now(UTC).astimezone(self.zone).replace(tzinfo=None)
        self.clock_offset = when - local

    def skew(self, minutes: float) -> None:
        """Put the clock off by `minutes` from the true local time."""
        self.clock_offset = timedelta(minutes=minutes)

    def reset_clock(self) -> None:
        """The clock lost its setting after a power cut: it restarts at 2000-01-01 00:00."""
        self.set_clock(datetime(2000, 1, 1))  # noqa: DTZ001 - device clocks are naive

    # --- log -------------------------------------------------------------------------
    @property
    def record_count(self) -> int:
        """How many attendance records the terminal holds."""
        return len(self.log) // self.spec.record_size

    def punch(
        self, user_id: str, *, state: int = 0, verify: int = 1, when: datetime | None = None
    ) -> bool:
        """Record a punch now (or at `when`) and send it to listening clients; False if full."""
        if self.faults.memory_full:
            return False
        when = when or self.now()
        user = self.by_user_id.get(user_id)
        uid = user.uid if user else int(user_id) if user_id.isdigit() else 0
        rec = att_record(uid, user_id, when, state, verify)
        packed = pack_attendance([rec], self.spec.record_size, self.spec.encoding)
        if self.spec.record_size == 40:
            event = EVENT_STRING.pack(
                user_id.encode(self.spec.encoding), verify, state, encode_timehex(when)
            )
        else:
            event = EVENT_NUMERIC.pack(int(user_id), verify, state, encode_timehex(when))
        with self.lock:
            self.log += packed
            self.ledger.append((user_id, when))
            listeners = list(self._listeners)
        for notify in listeners:
            notify(event)
        return True

    def add_impossible_record(self, user_id: str | None = None) -> None:
        """Store a record dated 31 February, as garbage after a power loss decodes."""
        user = self.by_user_id.get(user_id or "") or self.users[0]
        bad = encode_time(datetime(2026, 2, 28, 9, 0)) + 3 * 86400  # noqa: DTZ001
        rec = AttRecord(user.uid, user.user_id, bad, 0, 1)
        with self.lock:
            self.log += pack_attendance([rec], self.spec.record_size, self.spec.encoding)
            self.malformed.append(user.user_id)

    def clear_log(self) -> None:
        """Erase every attendance record (CLEAR_ATTLOG, or an operator at the keypad)."""
        with self.lock:
            self.log = bytearray()

    def roll_over(self, dropped: int) -> None:
        """Drop the oldest records, as a terminal with a full circular log does."""
        with self.lock:
            del self.log[: dropped * self.spec.record_size]

    # --- datasets ----------------------------------------------------------------------
    def attendance_dataset(self) -> bytes:
        """The attendance buffer as PREPARE_BUFFER serves it: u32 size, then the records.

        Serving it counts as a read for the clear/roll-over fault switches, which act after
        the read, i.e. between this read and the next.
        """
        with self.lock:
            data = struct.pack("<I", len(self.log)) + bytes(self.log)
        faults = self.faults
        if faults.clear_after_reads is not None:
            faults.clear_after_reads -= 1
            if faults.clear_after_reads <= 0:
                faults.clear_after_reads = None
                self.clear_log()
        if faults.roll_over_after_reads is not None:
            faults.roll_over_after_reads -= 1
            if faults.roll_over_after_reads <= 0:
                faults.roll_over_after_reads = None
                self.roll_over(faults.roll_over_records)
        return data

    def user_dataset(self) -> bytes:
        """The user table as PREPARE_BUFFER serves it."""
        body = pack_users(self.users, self.spec.users_layout, self.spec.encoding)
        return struct.pack("<I", len(body)) + body

    def sizes(self) -> bytes:
        """The GET_FREE_SIZES reply (92 bytes of i32 fields)."""
        count = self.record_count
        cap = count if self.faults.memory_full else max(self.spec.record_capacity, count)
        fields = [0] * 23
        fields[4] = len(self.users)
        fields[6] = len(self.users)  # one finger each
        fields[8] = count
        fields[14] = 10_000
        fields[15] = self.spec.user_capacity
        fields[16] = cap
        fields[17] = 10_000 - len(self.users)
        fields[18] = self.spec.user_capacity - len(self.users)
        fields[19] = cap - count
        fields[20] = len(self.users) if self.spec.record_size == 40 else 0
        fields[22] = 1_200 if self.spec.record_size == 40 else 0
        return SIZES.pack(*fields)

    def options(self) -> dict[str, str]:
        """Device options readable with OPTIONS_RRQ."""
        s = self.spec
        return {
            "~SerialNumber": s.serial,
            "~Platform": s.platform,
            "~DeviceName": s.device_name,
            "MAC": s.mac,
            "ZKFaceVersion": "7" if s.record_size == 40 else "0",
            "~ZKFPVersion": "10",
            "~ExtendFmt": "1" if s.record_size == 40 else "0",
            "~UserExtFmt": "1" if s.users_layout == 72 else "0",
            "FaceFunOn": "1" if s.record_size == 40 else "0",
            "CompatOldFirmware": "0",
            "IPAddress": "127.0.0.1",
            "NetMask": "255.0.0.0",
            "GATEIPAddress": "127.0.0.1",
        }

    # --- live events -------------------------------------------------------------------
    def listen(self, notify: Callable[[bytes], None]) -> None:
        """Send each new punch's event payload to `notify` (called from the punching thread)."""
        with self.lock:
            self._listeners.append(notify)

    def unlisten(self, notify: Callable[[bytes], None]) -> None:
        """Stop sending events to `notify`."""
        with self.lock:
            if notify in self._listeners:
                self._listeners.remove(notify)
