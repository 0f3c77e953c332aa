"""The one normalisation path: any source's raw punch becomes a storable punch row.

Time policy (naive local times are given their source's IANA zone here, at the edge):
- a local time inside a spring-forward gap (e.g. 02:30 on the day clocks jump from 02:00
  to 03:00) is read with the offset in force *before* the jump, as a device whose clock
  has not yet moved would mean it; the punch is flagged ``dst_gap``;
- a local time that happens twice (autumn fold) is read as its *first* occurrence and
  flagged ``dst_ambiguous``;
- aware times are taken as they are.

Identity (the dedupe key). Terminal, push and imported punches (and phone punches without
a message id) are the same punch when the same employee code punched at the same
wall-clock second: the local time as the source recorded it, to the second, not the UTC
instant. So a terminal read again with another zone setting (or its zone corrected, see
`collector.masterdata.zones`) yields the keys it yielded before, and a record polled from
a terminal and the same record in an old export still collide. For an aware input (an
import with offsets, a phone) the wall time is its local time in the zone the punch is
stored with, and the second occurrence of a fold hour is told apart (``|f1``).
- Folds: a naive time in the repeated hour is read as its first occurrence, so a terminal
  that really recorded 02:30 twice an hour apart gives one punch; the UTC key did the same.
- Gaps: the key is the gap time as recorded (02:30), not the instant it is read as.
- The terminal's serial is not part of the key: exports carry none, and cross-source
  dedupe needs the terminal's record and the export's row to meet. As before, two
  terminals reporting one code in the same second give one punch; new is that one code
  at the same wall-clock second in two zones (two readers in two zones) gives one punch.
- An aware import row's key depends on the zone it is stored with (its timezone column,
  its device's zone or ``--timezone``); re-importing an offset-bearing file under another
  zone is not recognised.
Phone punches are keyed by their message id, manual corrections by their request id.
The key is a 64-bit integer in wall-clock order (`wall_key`; layout and collisions in
docs/store.md).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.vocabulary import DirectionMode, PunchFlag, PunchState, SourceKind, VerifyMethod

MAX_CODE_LEN = 64


class NormalizeError(ValueError):
    """A raw punch that cannot become a punch; the message is the quarantine reason."""


# Not frozen, though nothing changes one after it is built: a frozen dataclass's __init__ sets
# each field through object.__setattr__, four times the cost, and every punch of every source
# is built as one (a 100,000-record terminal sync: 0.3 s). Change one with dataclasses.replace.
@dataclass(slots=True)
class RawPunch:
    """A source-neutral punch as gathered, before normalisation (read-only by convention)."""

    employee_code: str
    timestamp: datetime  # naive local time in `tz`, or aware
    source_kind: SourceKind
    tz: str | None = None  # the source's IANA zone
    device_code: str | None = None
    verify: VerifyMethod | int | str | None = None
    state: PunchState | int | str | None = None
    direction_mode: DirectionMode = DirectionMode.AUTO
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    site_code: str | None = None
    distance_m: float | None = None
    geo_decision: str | None = None
    flags: int = 0  # flags the source already decided (fence, mock, skew…)
    source_ref: str | None = None  # the record's identity at its source
    raw: str | None = None
    note: str | None = None
    voids_punch_id: int | None = None


def raw_to_json(raw: RawPunch) -> dict[str, Any]:
    """A raw punch as JSON-safe data, kept with a quarantined item so it can be replayed."""
    out: dict[str, Any] = {}
    for name in RawPunch.__slots__:
        value = getattr(raw, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif not isinstance(value, str | int | float | bool | type(None)):
            value = repr(value)  # a parser handed in something odd: keep it readable
        out[name] = value
    return out


def raw_from_json(data: dict[str, Any]) -> RawPunch:
    """The raw punch `raw_to_json` stored (ValueError/TypeError/KeyError if it cannot be)."""
    fields = {k: v for k, v in data.items() if k in RawPunch.__slots__}
    fields["timestamp"] = datetime.fromisoformat(fields["timestamp"])
    fields["source_kind"] = SourceKind(fields["source_kind"])
    fields["direction_mode"] = DirectionMode(fields.get("direction_mode") or "auto")
    return RawPunch(**fields)


class PunchRow(TypedDict):
    """A punch ready for the store (column name → value; times aware UTC)."""

    dedupe_key: int
    employee_code: str
    occurred_at: datetime
    tz: str
    local_date: date
    source_kind: str
    device_code: str | None
    verify: str
    state: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    site_code: str | None
    distance_m: float | None
    geo_decision: str | None
    flags: int
    source_ref: str | None
    voids_punch_id: int | None
    note: str | None
    raw: str | None


@dataclass(frozen=True, slots=True)
class QuarantineLimits:
    """How much bad input one device or phone may add to quarantine as rows of their own."""

    per_upload: int = 50  # bad inputs of one upload or batch kept one per row
    per_origin: int = 1000  # rows one device or phone may add per window
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class NormalizePolicy:
    """Tolerances applied while normalising, and the quarantine's bounds."""

    default_timezone: str = "UTC"
    future_tolerance: timedelta = timedelta(minutes=5)
    plausible_year_min: int = 2001
    plausible_years_ahead: int = 1
    quarantine: QuarantineLimits = QuarantineLimits()


ZK_STATES: dict[int, PunchState] = {
    0: PunchState.IN,
    1: PunchState.OUT,
    2: PunchState.BREAK_OUT,
    3: PunchState.BREAK_IN,
    4: PunchState.OVERTIME_IN,
    5: PunchState.OVERTIME_OUT,
    255: PunchState.UNKNOWN,
}


def state_word(text: str) -> str:
    """A state word as STATE_WORDS keys it: lower case, without spaces, hyphens or underscores."""
    return "".join(text.split()).lower().replace("-", "").replace("_", "")


# Every source's state words, English and Chinese as terminals and their software write them
# ("C/In", "Break Out", "OverTime In", "上班签到"…); looked up through `state_word`.
STATE_WORDS: dict[str, PunchState] = {
    state_word(word): state
    for word, state in {
        **{s.value: s for s in PunchState},
        **{str(k): v for k, v in ZK_STATES.items()},
        "i": PunchState.IN,
        "o": PunchState.OUT,
        "check-in": PunchState.IN,
        "c/in": PunchState.IN,
        "check-out": PunchState.OUT,
        "c/out": PunchState.OUT,
        "break-out": PunchState.BREAK_OUT,
        "break-in": PunchState.BREAK_IN,
        "overtime-in": PunchState.OVERTIME_IN,
        "overtime-out": PunchState.OVERTIME_OUT,
        "ot-in": PunchState.OVERTIME_IN,
        "ot-out": PunchState.OVERTIME_OUT,
        "上班签到": PunchState.IN,
        "签到": PunchState.IN,
        "上班": PunchState.IN,
        "下班签退": PunchState.OUT,
        "签退": PunchState.OUT,
        "下班": PunchState.OUT,
        "外出": PunchState.BREAK_OUT,
        "外出返回": PunchState.BREAK_IN,
        "加班签到": PunchState.OVERTIME_IN,
        "加班签退": PunchState.OVERTIME_OUT,
        "": PunchState.UNKNOWN,
        "undefined": PunchState.UNKNOWN,
    }.items()
}

ZK_VERIFY: dict[int, VerifyMethod] = {
    0: VerifyMethod.PASSWORD,
    1: VerifyMethod.FINGERPRINT,
    2: VerifyMethod.CARD,
    3: VerifyMethod.PASSWORD,
    4: VerifyMethod.CARD,
    15: VerifyMethod.FACE,
    25: VerifyMethod.PALM,
}

VERIFY_WORDS: dict[str, VerifyMethod] = {
    **{v.value: v for v in VerifyMethod},
    **{str(k): v for k, v in ZK_VERIFY.items()},
    "fp": VerifyMethod.FINGERPRINT,
    "finger": VerifyMethod.FINGERPRINT,
    "pw": VerifyMethod.PASSWORD,
    "pin": VerifyMethod.PASSWORD,
    "rfid": VerifyMethod.CARD,
    "rf": VerifyMethod.CARD,
    "指纹": VerifyMethod.FINGERPRINT,
    "密码": VerifyMethod.PASSWORD,
    "卡": VerifyMethod.CARD,
    "刷卡": VerifyMethod.CARD,
    "面部": VerifyMethod.FACE,
    "人脸": VerifyMethod.FACE,
    "掌纹": VerifyMethod.PALM,
    "": VerifyMethod.OTHER,
}

_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo; unknown names raise NormalizeError."""
    found = _ZONES.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise NormalizeError(f"unknown timezone {name!r}") from exc
        _ZONES[name] = found
    return found


def map_state(state: PunchState | int | str | None, mode: DirectionMode) -> PunchState:
    """The punch's in/out state under the device's direction mode."""
    if mode is DirectionMode.IN:
        return PunchState.IN
    if mode is DirectionMode.OUT:
        return PunchState.OUT
    if mode is DirectionMode.ALTERNATE or state is None:
        return PunchState.UNKNOWN
    if isinstance(state, PunchState):
        return state
    if isinstance(state, int):
        # Firmware uses codes beyond 0–5; the punch is still real, its direction unknown.
        return ZK_STATES.get(state, PunchState.UNKNOWN)
    found = STATE_WORDS.get(state) or STATE_WORDS.get(state_word(state))
    if found is None:
        raise NormalizeError(f"unknown state {state!r}")
    return found


def map_verify(verify: VerifyMethod | int | str | None) -> VerifyMethod:
    """The verify method for a device code or a name; unrecognised ones become `other`."""
    if verify is None:
        return VerifyMethod.OTHER
    if isinstance(verify, VerifyMethod):
        return verify
    if isinstance(verify, int):
        return ZK_VERIFY.get(verify, VerifyMethod.OTHER)
    return VERIFY_WORDS.get(verify.strip().lower(), VerifyMethod.OTHER)


def to_utc(timestamp: datetime, tz: ZoneInfo) -> tuple[datetime, int]:
    """Convert a naive local time in `tz` (or an aware time) to UTC, with DST flags."""
    if timestamp.tzinfo is not None:
        return timestamp.astimezone(UTC), 0
    naive, flags = naive_utc(timestamp, tz)
    return naive.replace(tzinfo=UTC), flags


def naive_utc(timestamp: datetime, tz: ZoneInfo) -> tuple[datetime, int]:
    """`to_utc` of a naive local time, as naive UTC (what the store holds), with DST flags."""
    # Keyed on the day's ordinal and the hour: datetime.replace costs ten times as much.
    offset = _CLEAN_HOURS.get((tz, timestamp.toordinal(), timestamp.hour))
    if offset is None:
        offset = _clean_hour_offset(timestamp, tz)
    if offset is not None:
        return timestamp - offset, 0
    first = timestamp.replace(tzinfo=tz, fold=0)
    second = timestamp.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC).replace(tzinfo=None), 0
    utc = first.astimezone(UTC)
    # A fold survives the round trip back to local time; a gap time does not exist.
    if utc.astimezone(tz).replace(tzinfo=None) == timestamp:
        return utc.replace(tzinfo=None), _AMBIGUOUS
    return utc.replace(tzinfo=None), _GAP


_AMBIGUOUS = int(PunchFlag.DST_AMBIGUOUS)
_GAP = int(PunchFlag.DST_GAP)

# Local hours with one unambiguous offset throughout, by zone, day ordinal and hour: most
# punches need no zone arithmetic beyond one subtraction. Bounded so a long import cannot
# grow it forever.
_CLEAN_HOURS: dict[tuple[ZoneInfo, int, int], timedelta] = {}
_CLEAN_HOURS_MAX = 200_000


def _clean_hour_offset(timestamp: datetime, tz: ZoneInfo) -> timedelta | None:
    hour = timestamp.replace(minute=0, second=0, microsecond=0, fold=0)
    end = hour + timedelta(minutes=59, seconds=59)
    offsets = {
        hour.replace(tzinfo=tz, fold=0).utcoffset(),
        hour.replace(tzinfo=tz, fold=1).utcoffset(),
        end.replace(tzinfo=tz, fold=0).utcoffset(),
        end.replace(tzinfo=tz, fold=1).utcoffset(),
    }
    if len(offsets) != 1:
        return None  # a transition falls in this hour: decide minute by minute
    offset = offsets.pop()
    if offset is None:
        return None
    if len(_CLEAN_HOURS) >= _CLEAN_HOURS_MAX:
        _CLEAN_HOURS.clear()
    _CLEAN_HOURS[(tz, timestamp.toordinal(), timestamp.hour)] = offset
    return offset


def dedupe_key(raw: RawPunch, code: str, wall: datetime) -> int:
    """The key that makes the same punch from any path land once (see the module docstring).

    `wall` is the punch's naive local time as read (`fold=1` only for the second
    occurrence of an aware time in a fold hour).
    """
    if keyed_on_ref(raw.source_kind.value, raw.source_ref):
        return ref_key(raw.source_kind.value, code, raw.source_ref or "")
    return wall_key(code, wall)


# The 64-bit key (docs/store.md, "The dedupe key"). A wall-clock key is laid out in time
# order, so the unique index grows at its end like the table: wall seconds since 2000 in
# bits 31–62, the fold in bit 30, 30 bits of the code's hash below. Keys that cannot be
# laid out so (reference keys, wall times outside 2000–2136, re-keyed collisions) are a
# 63-bit hash in the negative half. Equal keys of different punches are told apart on
# the stored row's identity (`key_identity`) by the ingest, which re-keys the newcomer.
_KEY_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - a wall-clock origin, in no zone
_KEY_SECONDS = 1 << 32
_CODE_BITS = 30
_CODE_MASK = (1 << _CODE_BITS) - 1
_SECOND = timedelta(seconds=1)


def keyed_on_ref(source_kind: str, source_ref: str | None) -> bool:
    """Whether a punch of this kind is identified by its source reference, not its time."""
    return source_kind == "manual" or (source_kind == "mobile" and bool(source_ref))


def wall_key(code: str, wall: datetime) -> int:
    """The key of a punch identified by its employee code and wall-clock second."""
    seconds = (wall - _KEY_EPOCH) // _SECOND
    if 0 <= seconds < _KEY_SECONDS:
        low = _CODE_HASHES.get(code)
        if low is None:
            low = _code_hash(code)
        return (seconds << 31) | (wall.fold << _CODE_BITS) | low
    return hashed_key(wall_basis(code, wall))


# The code's 30 hash bits, by code: a site has a few thousand codes behind many punches.
# Bounded like _CLEAN_HOURS.
_CODE_HASHES: dict[str, int] = {}
_CODE_HASHES_MAX = 100_000


def _code_hash(code: str) -> int:
    low = int.from_bytes(hashlib.blake2b(code.encode(), digest_size=4).digest()) & _CODE_MASK
    if len(_CODE_HASHES) >= _CODE_HASHES_MAX:
        _CODE_HASHES.clear()
    _CODE_HASHES[code] = low
    return low


def ref_key(source_kind: str, code: str, source_ref: str) -> int:
    """The key of a punch identified by its source reference (phone message, request id)."""
    return hashed_key(f"{source_kind}|{code}|{source_ref}")


def hashed_key(basis: str) -> int:
    """A key in the negative half: 63 bits of the basis's hash."""
    digest = hashlib.blake2b(basis.encode("utf-8", "replace"), digest_size=8).digest()
    return -1 - (int.from_bytes(digest) >> 1)


def rekey(key: int, identity: tuple[str | None, ...]) -> int:
    """The next key to try for a punch whose key another punch already holds."""
    return hashed_key(f"rekey|{key}|" + "|".join(str(part) for part in identity))


def key_identity(
    employee_code: str, source_kind: str, source_ref: str | None
) -> tuple[str | None, ...]:
    """What two punches with one key must share to be the same punch.

    A wall-clock key holds the wall second and the fold exactly, so the same key and code
    mean the same punch; a reference key also needs the same kind and reference.
    """
    if keyed_on_ref(source_kind, source_ref):
        return (employee_code, source_kind, source_ref)
    return (employee_code,)


def wall_basis(code: str, wall: datetime) -> str:
    """What a hashed wall-clock key hashes: the code and the local time to the second."""
    # Seconds since a naive origin: a third of the cost of formatting the time as text.
    seconds = (wall - _WALL_EPOCH) // _SECOND
    return f"w|{code}|{seconds}|f1" if wall.fold else f"w|{code}|{seconds}"


_WALL_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - a wall-clock origin, in no zone


_GAP_SEARCH_HOURS = 26  # longer than any zone's jump (Samoa skipped a whole day in 2011)


def wall_time(occurred_at: datetime, tz: ZoneInfo, flags: int) -> datetime:
    """The naive local time a stored punch was read as: `to_utc` undone, by its DST flags."""
    local = occurred_at.astimezone(tz)
    if flags & _GAP:
        # A gap time was read with the offset before the jump; the instant lies after it.
        after = local.utcoffset()
        for hours in range(1, _GAP_SEARCH_HOURS + 1):
            before = (occurred_at - timedelta(hours=hours)).astimezone(tz).utcoffset()
            if before is not None and before != after:
                wall = (occurred_at + before).replace(tzinfo=None)
                if to_utc(wall, tz) == (occurred_at, PunchFlag.DST_GAP):
                    return wall
                break
    return local.replace(tzinfo=None)


def text_safe(value: str | None) -> str | None:
    """Text any database can store: NUL characters (refused by PostgreSQL) escaped."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\\x00")


def clean_code(code: str) -> str:
    """Validate and trim an employee code."""
    code = code.strip() if isinstance(code, str) else ""
    if not code:
        raise NormalizeError("missing employee code")
    if len(code) > MAX_CODE_LEN:
        raise NormalizeError(f"employee code longer than {MAX_CODE_LEN} characters")
    if not code.isprintable():
        raise NormalizeError("employee code contains control characters")
    return code


def normalize(raw: RawPunch, *, now: datetime, policy: NormalizePolicy) -> PunchRow:
    """Turn a raw punch into a punch row; raise NormalizeError with the reason if impossible."""
    return Normalizer(now=now, policy=policy)(raw)


_FUTURE = int(PunchFlag.FUTURE_TIMESTAMP)  # plain ints: IntFlag arithmetic is slow per row
_RESET = int(PunchFlag.CLOCK_RESET)
_AUTO = DirectionMode.AUTO
_MANUAL = SourceKind.MANUAL
# Device codes straight to the stored words: an enum's .value is a Python-level property.
_ZK_STATE_TEXT: dict[int, str] = {k: v.value for k, v in ZK_STATES.items()}
_ZK_VERIFY_TEXT: dict[int, str] = {k: v.value for k, v in ZK_VERIFY.items()}
_UNKNOWN_STATE = PunchState.UNKNOWN.value
_OTHER_VERIFY = VerifyMethod.OTHER.value

PUNCH_ROW_COLUMNS: tuple[str, ...] = tuple(PunchRow.__annotations__)
# Positions in `Normalizer.values` (PunchRow's order).
OCCURRED_AT = PUNCH_ROW_COLUMNS.index("occurred_at")


class Normalizer:
    """`normalize` with the batch's limits worked out once (ingest calls it per row)."""

    __slots__ = ("default_tz", "future_limit", "year_max", "year_min")

    def __init__(self, *, now: datetime, policy: NormalizePolicy) -> None:
        self.default_tz = policy.default_timezone
        # Compared with naive UTC times (`values`).
        self.future_limit = (now + policy.future_tolerance).astimezone(UTC).replace(tzinfo=None)
        self.year_min = policy.plausible_year_min
        self.year_max = now.year + policy.plausible_years_ahead

    def __call__(self, raw: RawPunch) -> PunchRow:
        """Normalise one raw punch (see `normalize`)."""
        values = self.values(raw)
        values[OCCURRED_AT] = values[OCCURRED_AT].replace(tzinfo=UTC)
        return dict(zip(PUNCH_ROW_COLUMNS, values, strict=True))  # type: ignore[return-value]

    def values(self, raw: RawPunch) -> list[Any]:
        """One raw punch as PunchRow's values in its column order, `occurred_at` naive UTC.

        The ingest's hot path: a list it completes in place, no dict per row.
        """
        code = clean_code(raw.employee_code)
        stamp = raw.timestamp
        if not isinstance(stamp, datetime):
            raise NormalizeError(f"timestamp is not a date and time: {stamp!r}")
        kind = raw.source_kind
        if kind is _MANUAL and not raw.source_ref:
            raise NormalizeError("a manual punch needs a source reference")
        tz_name = raw.tz or self.default_tz
        tz = zone(tz_name)
        if stamp.tzinfo is None:
            occurred_at, flags = naive_utc(stamp, tz)
            # A naive time in a fold is read as its first occurrence, whatever its fold says.
            local = stamp.replace(fold=0) if stamp.fold else stamp
        else:
            aware = stamp.astimezone(UTC)
            occurred_at, flags = aware.replace(tzinfo=None), 0
            local = aware.astimezone(tz).replace(tzinfo=None)
        if raw.flags:
            flags = int(flags | raw.flags)  # a plain int: the drivers take it as it is
        if occurred_at > self.future_limit:
            flags |= _FUTURE
        if not self.year_min <= local.year <= self.year_max:
            flags |= _RESET
        lat = raw.lat
        lon = raw.lon
        if lat is not None or lon is not None:
            _check_coordinates(lat, lon, raw.accuracy_m)
        device = raw.device_code
        if device is not None and (len(device) > MAX_CODE_LEN or not device.isprintable()):
            raise NormalizeError("device code too long or containing control characters")
        kind_text: str = kind._value_
        ref = raw.source_ref
        if keyed_on_ref(kind_text, ref):
            key = ref_key(kind_text, code, ref or "")
        else:
            key = wall_key(code, local)
        verify = raw.verify
        if type(verify) is int:
            verify_text = _ZK_VERIFY_TEXT.get(verify, _OTHER_VERIFY)
        else:
            verify_text = map_verify(verify).value
        state = raw.state
        if type(state) is int and raw.direction_mode is _AUTO:
            # Firmware uses codes beyond 0–5; the punch is still real, its direction unknown.
            state_text = _ZK_STATE_TEXT.get(state, _UNKNOWN_STATE)
        else:
            state_text = map_state(state, raw.direction_mode).value
        note = raw.note
        return [
            key,
            code,
            occurred_at,
            tz_name,
            local.date(),
            kind_text,
            device,
            verify_text,
            state_text,
            lat,
            lon,
            raw.accuracy_m,
            raw.site_code,
            raw.distance_m,
            raw.geo_decision,
            flags,
            ref if ref is None or "\x00" not in ref else text_safe(ref),
            raw.voids_punch_id,
            note if note is None or "\x00" not in note else text_safe(note),
            text_safe(raw.raw),
        ]


def _check_coordinates(lat: Any, lon: Any, acc: Any) -> None:
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise NormalizeError(f"{name} is not a number")
        if value != value or not -limit <= value <= limit:  # NaN fails the first test
            raise NormalizeError(f"{name} {value!r} is out of range")
    if acc is not None and (not isinstance(acc, int | float) or acc != acc or acc < 0):
        raise NormalizeError(f"accuracy {acc!r} is not a non-negative number")
