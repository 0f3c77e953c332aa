"""The ZK binary protocol: codes, framing, checksum, comm-key scrambling and time encoding.

Facts follow pyzk 0.9 (`zk/base.py`, `zk/const.py`). The checksum is pyzk's (and
node-zklib's): a ones'-complement-style sum whose final step yields ``65534 - sum``, which
is what the terminals accept from those clients.
"""

from __future__ import annotations

import struct
from datetime import datetime

USHRT_MAX = 65535

CMD_CONNECT = 1000
CMD_EXIT = 1001
CMD_ENABLEDEVICE = 1002
CMD_DISABLEDEVICE = 1003
CMD_RESTART = 1004
CMD_REFRESHDATA = 1013
CMD_GET_VERSION = 1100
CMD_AUTH = 1102
CMD_PREPARE_DATA = 1500
CMD_DATA = 1501
CMD_FREE_DATA = 1502
CMD_PREPARE_BUFFER = 1503
CMD_READ_BUFFER = 1504
CMD_ACK_OK = 2000
CMD_ACK_ERROR = 2001
CMD_ACK_UNAUTH = 2005
CMD_ACK_UNKNOWN = 0xFFFF
CMD_USERTEMP_RRQ = 9
CMD_OPTIONS_RRQ = 11
CMD_OPTIONS_WRQ = 12
CMD_ATTLOG_RRQ = 13
CMD_CLEAR_DATA = 14
CMD_CLEAR_ATTLOG = 15
CMD_GET_FREE_SIZES = 50
CMD_STARTVERIFY = 60
CMD_CANCELCAPTURE = 62
CMD_GET_PINWIDTH = 69
CMD_GET_TIME = 201
CMD_SET_TIME = 202
CMD_REG_EVENT = 500

FCT_USER = 5
EF_ATTLOG = 1
TCP_MAGIC = (0x5050, 0x7D82)
TCP_TOP = struct.Struct("<HHI")
HEADER = struct.Struct("<4H")
TIME = struct.Struct("<I")


def checksum(packet: bytes) -> int:
    """The checksum of a packet whose checksum field is zero (pyzk's algorithm)."""
    total = 0
    even = len(packet) - len(packet) % 2
    for (word,) in struct.iter_unpack("<H", packet[:even]):
        total += word
        if total > USHRT_MAX:
            total -= USHRT_MAX
    if len(packet) % 2:
        total += packet[-1]
    while total > USHRT_MAX:
        total -= USHRT_MAX
    result = ~total
    while result < 0:
        result += USHRT_MAX
    return result


def build_packet(code: int, session: int, reply: int, payload: bytes = b"") -> bytes:
    """A command header plus payload with its checksum filled in."""
    blank = HEADER.pack(code, 0, session, reply) + payload
    return HEADER.pack(code, checksum(blank), session, reply) + payload


def parse_packet(packet: bytes) -> tuple[int, int, int, int, bytes]:
    """Split a packet into (code, checksum, session, reply id, payload)."""
    code, chk, session, reply = HEADER.unpack_from(packet)
    return code, chk, session, reply, packet[HEADER.size :]


def tcp_frame(packet: bytes) -> bytes:
    """Prefix a packet with the TCP top header."""
    return TCP_TOP.pack(TCP_MAGIC[0], TCP_MAGIC[1], len(packet)) + packet


def make_commkey(key: int, session: int, ticks: int = 50) -> bytes:
    """Scramble a comm key with the session id the way the AUTH command carries it."""
    k = 0
    for i in range(32):
        k = (k << 1) | ((key >> i) & 1)
    k = (k + session) & 0xFFFFFFFF
    b = bytearray(struct.pack("<I", k))
    for i, ch in enumerate(b"ZKSO"):
        b[i] ^= ch
    swapped = bytearray(b[2:4] + b[0:2])
    t = ticks & 0xFF
    return bytes((swapped[0] ^ t, swapped[1] ^ t, t, swapped[3] ^ t))


def check_commkey(key: int, session: int, blob: bytes) -> bool:
    """Whether an AUTH payload proves knowledge of `key` (ticks are read from byte 2)."""
    return len(blob) >= 4 and make_commkey(key, session, blob[2]) == blob[:4]


def encode_time(when: datetime) -> int:
    """A device timestamp (every month counted as 31 days from 2000)."""
    return (
        ((when.year % 100) * 12 * 31 + (when.month - 1) * 31 + when.day - 1) * 86400
        + (when.hour * 60 + when.minute) * 60
        + when.second
    )


def time_fields(value: int) -> tuple[int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second) of a device timestamp, unchecked."""
    second = value % 60
    value //= 60
    minute = value % 60
    value //= 60
    hour = value % 24
    value //= 24
    day = value % 31 + 1
    value //= 31
    month = value % 12 + 1
    return value // 12 + 2000, month, day, hour, minute, second


def decode_time(value: int) -> datetime:
    """A naive local time from a device timestamp; impossible dates raise ValueError."""
    return datetime(*time_fields(value))  # noqa: DTZ001 - device times are naive local


def encode_timehex(when: datetime) -> bytes:
    """The six raw bytes a live event carries."""
    return bytes((when.year - 2000, when.month, when.day, when.hour, when.minute, when.second))
