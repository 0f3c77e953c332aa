"""The shared words of a punch: source kinds, in/out states, verify methods and flags."""

from __future__ import annotations

import enum


class SourceKind(enum.StrEnum):
    """Where a punch came from."""

    TERMINAL = "terminal"  # polled over TCP/UDP 4370
    PUSH = "push"  # push-mode terminal calling /iclock
    MOBILE = "mobile"  # phone over MQTT
    IMPORT = "import"  # historical CSV/XLSX import
    MANUAL = "manual"  # added or voided by HR


class PunchState(enum.StrEnum):
    """What the person meant by the punch."""

    IN = "in"
    OUT = "out"
    BREAK_OUT = "break_out"
    BREAK_IN = "break_in"
    OVERTIME_IN = "overtime_in"
    OVERTIME_OUT = "overtime_out"
    UNKNOWN = "unknown"  # state 255, or a device whose direction is decided by pairing
    VOID = "void"  # a manual record cancelling another punch


class VerifyMethod(enum.StrEnum):
    """How the person proved who they are."""

    PASSWORD = "password"
    FINGERPRINT = "fingerprint"
    CARD = "card"
    FACE = "face"
    PALM = "palm"
    GPS = "gps"
    MANUAL = "manual"
    OTHER = "other"


class DirectionMode(enum.StrEnum):
    """How a device's punches get their in/out state."""

    AUTO = "auto"  # use the state the person chose on the device
    IN = "in"  # an entrance-only device: every punch is an in
    OUT = "out"  # an exit-only device: every punch is an out
    ALTERNATE = "alternate"  # ignore the device's state; pairing alternates in/out


class PunchFlag(enum.IntFlag):
    """Reasons HR should look twice at a punch; stored as a bitmask."""

    NONE = 0
    CLOCK_SKEW = 1 << 0  # the terminal's clock was off beyond the threshold
    OUTSIDE_FENCE = 1 << 1  # the phone was outside every work-site fence
    LOW_ACCURACY = 1 << 2  # inside only thanks to the GPS accuracy radius
    MOCK_LOCATION = 1 << 3  # the phone's OS said the location was simulated
    LATE_DELIVERY = 1 << 4  # arrived long after it was made (offline queue)
    UNKNOWN_EMPLOYEE = 1 << 5  # no employee had this code when it arrived
    FUTURE_TIMESTAMP = 1 << 6  # later than the receiving clock beyond tolerance
    CLOCK_RESET = 1 << 7  # an implausible year from a device clock reset (2000, 2063…)
    DST_GAP = 1 << 8  # local time fell in a spring-forward gap
    DST_AMBIGUOUS = 1 << 9  # local time happened twice (autumn fold)
    IMPOSSIBLE_SPEED = 1 << 10  # faster than plausible travel from the previous fix
    REPEATED_COORDINATES = 1 << 11  # identical coordinates to the last decimal as before
    BSSID_PROOF = 1 << 12  # presence proven by an allowed Wi-Fi BSSID, not GPS
    TRIP_DAY = 1 << 13  # accepted away from every fence: a business-trip or field-work day

    @classmethod
    def names_of(cls, value: int) -> list[str]:
        """Lower-case names of the flags set in a bitmask."""
        return [f.name.lower() for f in cls if f.value and value & f.value and f.name]

    @classmethod
    def parse(cls, names: str | list[str]) -> PunchFlag:
        """Turn flag names (a list or comma-separated) into a bitmask; unknown names raise."""
        items = names.split(",") if isinstance(names, str) else names
        out = cls.NONE
        for raw in items:
            name = raw.strip().upper()
            if name:
                try:
                    out |= cls[name]
                except KeyError:
                    raise ValueError(f"unknown punch flag {raw.strip()!r}") from None
        return out


class DayStatus(enum.StrEnum):
    """What an employee-day amounts to (stored in attendance_days.status)."""

    PRESENT = "present"
    LATE = "late"
    HALF_DAY = "half_day"
    ABSENT = "absent"
    INCOMPLETE = "incomplete"  # an odd number of punches: a best-effort figure, flagged
    HOLIDAY = "holiday"
    REST_DAY = "rest_day"
    LEAVE = "leave"  # a full day of leave or absence; stored as `leave:<type>`
    PROVISIONAL = "provisional"  # its punch window is open or a device has not reported past it


class OvertimeCategory(enum.StrEnum):
    """Keys of attendance_days.overtime (seconds per category)."""

    REGULAR = "regular"  # beyond the target or the shift's end on a working day
    REST_DAY = "rest_day"  # all time worked on a rest day
    HOLIDAY = "holiday"  # all time worked on a public or company holiday
