"""Record layouts of the ZK user table and attendance log, parsed in one pass and packed.

Attendance: 8 bytes ``<HBIB`` (uid, verify, time, state), 16 bytes ``<IIBB2xI`` (numeric
user id, time, verify, state, reserved, workcode), 40 bytes ``<H24sBIB8x`` (uid, user id
string, verify, time, state, reserved). Users: 28 bytes ``<HB5s8sIxBhI`` and 72 bytes
``<HB8s24sIx7sx24s``. A record that cannot be read becomes a `BadRecord` with its raw bytes;
the records after it are still read.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from devices.types import BadRecord, DevicePunch
from devices.zk.protocol import encode_time, time_fields

ATT_8 = struct.Struct("<HBIB")
ATT_16 = struct.Struct("<IIBB2xI")
ATT_40 = struct.Struct("<H24sBIB8x")
ATT_SIZES = (40, 16, 8)
USER_28 = struct.Struct("<HB5s8sIxBhI")
USER_72 = struct.Struct("<HB8s24sIx7sx24s")
USER_SIZES = (28, 72)

Parsed = DevicePunch | BadRecord


@dataclass(frozen=True, slots=True)
class ZKUser:
    """A user enrolled on a terminal."""

    uid: int  # the terminal's internal slot number
    user_id: str  # the PIN people are known by (the employee code)
    name: str = ""
    privilege: int = 0
    password: str = ""
    card: int = 0
    group: str = ""


@dataclass(frozen=True, slots=True)
class AttRecord:
    """An attendance record to pack (emulator side); `stamp` may encode an impossible date."""

    uid: int
    user_id: str
    stamp: int
    state: int = 0
    verify: int = 1
    workcode: int = 0


def detect_record_size(total: int, count_hint: int) -> int | None:
    """The attendance record size that divides `total` giving the count nearest the hint."""
    best: tuple[int, int] | None = None
    for size in ATT_SIZES:
        if total % size == 0:
            gap = abs(total // size - count_hint)
            if best is None or gap < best[0]:
                best = (gap, size)
    return best[1] if best else None


def _text(raw: bytes, encoding: str) -> str:
    return raw.split(b"\x00", 1)[0].decode(encoding, errors="replace").strip()


def _impossible(value: int) -> str:
    y, mo, d, h, mi, s = time_fields(value)
    return f"impossible date {y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"


class _Stamps:
    """Device timestamps to datetimes; the date part is checked once per day, not per record."""

    def __init__(self) -> None:
        self.days: dict[int, tuple[int, int, int] | None] = {}

    def __call__(self, value: int) -> datetime | None:
        ymd = self.days.get(value // 86400, _UNSEEN)
        if ymd is _UNSEEN:
            ymd = self._day(value // 86400)
        if ymd is None:
            return None
        rem = value % 86400
        return datetime(ymd[0], ymd[1], ymd[2], rem // 3600, rem // 60 % 60, rem % 60)  # noqa: DTZ001

    def _day(self, day: int) -> tuple[int, int, int] | None:
        y, mo, d = time_fields(day * 86400)[:3]
        try:
            date(y, mo, d)
            ymd: tuple[int, int, int] | None = (y, mo, d)
        except ValueError:
            ymd = None
        self.days[day] = ymd
        return ymd


_UNSEEN: tuple[int, int, int] = (-1, -1, -1)


def parse_attendance(
    data: bytes,
    record_size: int,
    *,
    first_position: int = 0,
    users_by_uid: Mapping[int, str] | None = None,
    encoding: str = "utf-8",
) -> list[Parsed]:
    """Parse a run of attendance records in one pass; bad ones come back as BadRecord."""
    view = memoryview(data)
    whole = len(view) - len(view) % record_size
    out: list[Parsed] = []
    append = out.append
    stamp_of = _Stamps()
    pos = first_position

    def bad(reason: str) -> BadRecord:
        at = (pos - first_position) * record_size
        return BadRecord(reason, bytes(view[at : at + record_size]), pos)

    if record_size == 8:
        uids = users_by_uid or {}
        for uid, verify, stamp, state in ATT_8.iter_unpack(view[:whole]):
            when = stamp_of(stamp)
            if when is None:
                append(bad(_impossible(stamp)))
            else:
                append(DevicePunch(uids.get(uid) or str(uid), when, state, verify, uid))
            pos += 1
    elif record_size == 16:
        for user, stamp, verify, state, workcode in ATT_16.iter_unpack(view[:whole]):
            when = stamp_of(stamp)
            if when is None:
                append(bad(_impossible(stamp)))
            else:
                append(DevicePunch(str(user), when, state, verify, None, workcode))
            pos += 1
    elif record_size == 40:
        names: dict[bytes, str] = {}  # few distinct users: decode each id once
        for uid, user_raw, verify, stamp, state in ATT_40.iter_unpack(view[:whole]):
            when = stamp_of(stamp)
            user_id = names.get(user_raw)
            if user_id is None:
                user_id = names[user_raw] = _text(user_raw, encoding)
            if when is None:
                append(bad(_impossible(stamp)))
            elif not user_id:
                append(bad("record without a user id"))
            else:
                append(DevicePunch(user_id, when, state, verify, uid))
            pos += 1
    else:
        raise ValueError(f"unknown attendance record size {record_size}")
    if whole != len(view):
        append(BadRecord(f"truncated {record_size}-byte record", bytes(view[whole:]), pos))
    return out


def pack_attendance(records: list[AttRecord], record_size: int, encoding: str = "utf-8") -> bytes:
    """Pack attendance records back to back (one join, never repeated concatenation)."""
    if record_size == 8:
        parts = [ATT_8.pack(r.uid, r.verify, r.stamp, r.state) for r in records]
    elif record_size == 16:
        parts = [
            ATT_16.pack(int(r.user_id), r.stamp, r.verify, r.state, r.workcode) for r in records
        ]
    elif record_size == 40:
        parts = [
            ATT_40.pack(r.uid, r.user_id.encode(encoding), r.verify, r.stamp, r.state)
            for r in records
        ]
    else:
        raise ValueError(f"unknown attendance record size {record_size}")
    return b"".join(parts)


def att_record(uid: int, user_id: str, when: datetime, state: int, verify: int) -> AttRecord:
    """An attendance record stamped with a (naive local) time."""
    return AttRecord(uid, user_id, encode_time(when), state, verify)


def parse_users(data: bytes, record_size: int, encoding: str = "utf-8") -> list[ZKUser]:
    """Parse the user table (28- or 72-byte records)."""
    view = memoryview(data)
    whole = len(view) - len(view) % record_size
    users: list[ZKUser] = []
    if record_size == 28:
        for uid, priv, pw, name, card, group, _tz, user in USER_28.iter_unpack(view[:whole]):
            users.append(
                ZKUser(
                    uid,
                    str(user),
                    _text(name, encoding),
                    priv,
                    _text(pw, encoding),
                    card,
                    str(group),
                )
            )
    elif record_size == 72:
        for uid, priv, pw, name, card, group, user in USER_72.iter_unpack(view[:whole]):
            users.append(
                ZKUser(
                    uid,
                    _text(user, encoding),
                    _text(name, encoding),
                    priv,
                    _text(pw, encoding),
                    card,
                    _text(group, encoding),
                )
            )
    else:
        raise ValueError(f"unknown user record size {record_size}")
    return users


def pack_users(users: list[ZKUser], record_size: int, encoding: str = "utf-8") -> bytes:
    """Pack the user table; 28-byte records need numeric user ids."""
    if record_size == 28:
        parts = [
            USER_28.pack(
                u.uid,
                u.privilege,
                u.password.encode(encoding),
                u.name.encode(encoding),
                u.card,
                int(u.group or 0),
                0,
                int(u.user_id),
            )
            for u in users
        ]
    elif record_size == 72:
        parts = [
            USER_72.pack(
                u.uid,
                u.privilege,
                u.password.encode(encoding),
                u.name.encode(encoding),
                u.card,
                u.group.encode(encoding),
                u.user_id.encode(encoding),
            )
            for u in users
        ]
    else:
        raise ValueError(f"unknown user record size {record_size}")
    return b"".join(parts)
