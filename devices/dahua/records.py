"""Dahua CGI replies: `key=value` lines, access-control records and their codes.

A `recordFinder.cgi?action=find&name=AccessControlCardRec` reply is text, one field a line:
`found=N`, then `records[i].RecNo=…`, `records[i].UserID`, `records[i].CardNo`,
`records[i].CreateTime` (Unix seconds), `records[i].AttendanceState`, `records[i].Method`,
`records[i].Status` (1 = passed), `records[i].Type` (Entry/Exit). `RecNo` is one counter per
controller. Newer firmwares add `CreateTimeRealUTC`: their `CreateTime` is the controller's
wall clock written as if it were UTC, and `CreateTimeRealUTC` the true instant.

`Method` is the unlock method (the HTTP API numbers it one below the NetSDK's
`NET_ACCESS_DOOROPEN_METHOD`): only methods that prove a person are punches; a remote
unlock, the exit button or a key are door events. `AttendanceState` follows the NetSDK's
`NET_ATTENDANCESTATE` (0 unknown, 1 sign in, 2 go out, 3 back from going out, 4 sign out,
5 and 6 overtime in and out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Unlock methods (HTTP API `Method`) that prove a person, and the credential each proves.
PERSON_METHODS: dict[int, str] = {
    0: "password",
    1: "card",
    2: "card",  # card first, then password
    3: "password",  # password first, then card
    6: "fingerprint",
    7: "fingerprint",  # password + card + fingerprint
    9: "fingerprint",  # password + fingerprint
    10: "fingerprint",  # card + fingerprint
    13: "password",  # duress password: still the person, the alarm is the controller's job
    14: "card",  # QR code
    15: "face",
    17: "face",  # face and ID card compared
    18: "face",  # ID card, then face and ID card compared
    20: "password",  # personal password
    21: "password",  # UserID + password
    22: "face",  # face + password
    23: "fingerprint",  # fingerprint + password
    24: "face",  # fingerprint + face
    25: "face",  # card + face
}

# Unlock methods that are the door opening, not a person identifying themselves.
DOOR_METHODS: dict[int, str] = {
    4: "remote unlock",
    5: "exit button",
    11: "multi-person unlock",
    12: "key",
}

# AttendanceState codes as the words the normalisation path knows (Hikvision's spelling);
# 0 and codes this table lacks leave the direction to pairing: never dropped.
ATTENDANCE_STATES: dict[int, str] = {
    0: "undefined",
    1: "checkIn",
    2: "breakOut",
    3: "breakIn",
    4: "checkOut",
    5: "overtimeIn",
    6: "overtimeOut",
}

# The door's direction (two-reader controllers): used only where a device says so.
DOOR_DIRECTIONS = {"entry": "checkIn", "exit": "checkOut"}


class WireError(ValueError):
    """A reply that is not a recordFinder result."""


def parse_table(text: str) -> dict[str, str]:
    """A CGI reply's `key=value` lines (CRLF or LF); a line without `=` is a WireError."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise WireError(f"not a key=value line: {line[:80]!r}")
        table[key.strip()] = value.strip()
    return table


@dataclass(frozen=True, slots=True)
class CardRecord:
    """One access-control record as the controller keeps it."""

    rec_no: int
    create_time: int  # the raw CreateTime: what StartTime/EndTime compare against
    instant: datetime | None  # aware UTC when the controller said the true instant
    wall: datetime | None  # naive wall clock when CreateTime is local (see `local_times`)
    user_id: str
    card_no: str
    method: int | None
    status: int | None
    attendance_state: int | None
    door_type: str  # Entry / Exit
    raw: dict[str, str]

    @property
    def credential(self) -> str | None:
        """What a passed record proves (card, face…), or None when it is no punch."""
        if self.method is None:
            return "other" if self.status == 1 else None
        return PERSON_METHODS.get(self.method)

    def ignore_reason(self) -> str | None:
        """Why this record is not a punch, or None when it is one."""
        if self.status is not None and self.status != 1:
            return f"verification failed (Status={self.status})"
        if self.method is not None and self.method not in PERSON_METHODS:
            return f"method {self.method}: {DOOR_METHODS.get(self.method, 'not a person')}"
        if not self.user_id:
            return "no user id"
        return None

    def state_word(self, *, door_direction: bool = False) -> str:
        """The attendance state as a word; the door's direction when asked and none was set."""
        word = ATTENDANCE_STATES.get(self.attendance_state or 0, "undefined")
        if word == "undefined" and door_direction:
            return DOOR_DIRECTIONS.get(self.door_type.lower(), word)
        return word


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One recordFinder reply: the records read, the unreadable ones and `found`."""

    records: list[CardRecord]
    bad: list[tuple[str, dict[str, str]]]  # (reason, raw fields)
    found: int


def _int(fields: dict[str, str], key: str) -> int | None:
    value = fields.get(key, "")
    if value == "":
        return None
    return int(value)


def parse_record(fields: dict[str, str], *, local_times: bool = False) -> CardRecord:
    """One record's fields; ValueError names what is missing or wrong.

    `local_times`: the controller writes its wall clock into CreateTime (firmwares without
    `CreateTimeRealUTC`, configured so per device); the time is then naive, for the device's
    zone to be given at the boundary.
    """
    try:
        rec_no = int(fields["RecNo"])
        create = int(fields["CreateTime"])
    except KeyError as exc:
        raise ValueError(f"missing {exc.args[0]}") from None
    except ValueError:
        raise ValueError("RecNo or CreateTime is not a number") from None
    try:
        method, status = _int(fields, "Method"), _int(fields, "Status")
        state = _int(fields, "AttendanceState")
        real = _int(fields, "CreateTimeRealUTC")
    except ValueError:
        raise ValueError("Method, Status or AttendanceState is not a number") from None
    if not 0 < create < 2**32 or (real is not None and not 0 < real < 2**32):
        raise ValueError(f"CreateTime out of range: {create}")
    instant: datetime | None = None
    wall: datetime | None = None
    if real:
        instant = datetime.fromtimestamp(real, UTC)
    elif local_times:
        wall = datetime.fromtimestamp(create, UTC).replace(tzinfo=None)
    else:
        instant = datetime.fromtimestamp(create, UTC)
    return CardRecord(
        rec_no=rec_no,
        create_time=create,
        instant=instant,
        wall=wall,
        user_id=fields.get("UserID", "").strip(),
        card_no=fields.get("CardNo", "").strip(),
        method=method,
        status=status,
        attendance_state=state,
        door_type=fields.get("Type", ""),
        raw=fields,
    )


def parse_page(text: str, *, local_times: bool = False) -> RecordPage:
    """A recordFinder reply; WireError when it is not one (one pass over its lines)."""
    found: int | None = None
    grouped: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        if line.startswith("records["):
            close = line.find("].", 8)
            key, sep, value = line[close + 2 :].partition("=")
            try:
                number = int(line[8:close])
            except ValueError:
                raise WireError(f"bad record key {line[:60]!r}") from None
            if close < 0 or not sep:
                raise WireError(f"not a record line: {line[:80]!r}")
            fields = grouped.get(number)
            if fields is None:
                fields = grouped[number] = {}
            fields[key.strip()] = value.strip()
        elif line.startswith("found="):
            try:
                found = int(line[6:])
            except ValueError:
                raise WireError("found is not a number") from None
        elif line.strip() and "=" not in line:
            raise WireError(f"not a key=value line: {line[:80]!r}")
    if found is None:
        raise WireError("reply has no found= line")
    records: list[CardRecord] = []
    bad: list[tuple[str, dict[str, str]]] = []
    for number in sorted(grouped):
        try:
            records.append(parse_record(grouped[number], local_times=local_times))
        except ValueError as exc:
            bad.append((str(exc), grouped[number]))
    return RecordPage(records=records, bad=bad, found=found)


def record_lines(index: int, fields: dict[str, object]) -> list[str]:
    """One record as reply lines (`records[i].Key=value`), keys in the firmware's order."""
    return [f"records[{index}].{key}={value}" for key, value in sorted(fields.items())]
