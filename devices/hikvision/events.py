"""ISAPI access-control events: the AcsEvent search's wire format and its event codes.

An event is `major`/`minor` (the SDK's MAJOR_EVENT = 5 and its MINOR_* codes), `time` (ISO
8601 with the terminal's offset), `serialNo` (one counter per terminal, shared by door and
alarm events, so a filtered search shows gaps), `employeeNoString`, `attendanceStatus` and
`currentVerifyMode`. Only the "authentication passed" minors of major 5 are a person at the
terminal; door, alarm and failed-verification events share major 5 and are not punches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAJOR_EVENT = 5  # access-control events (1 alarm, 2 exception, 3 operation)

# "Authentication passed" minors of major 5 and the credential each proves (the SDK's names).
# Hex as the SDK header writes them; the JSON carries decimals (0x4b = 75).
PASS_MINORS: dict[int, str] = {
    0x01: "card",  # MINOR_LEGAL_CARD_PASS
    0x02: "card",  # MINOR_CARD_AND_PSW_PASS
    0x26: "fingerprint",  # MINOR_FINGERPRINT_COMPARE_PASS
    0x28: "fingerprint",  # MINOR_CARD_FINGERPRINT_VERIFY_PASS
    0x2B: "fingerprint",  # MINOR_CARD_FINGERPRINT_PASSWD_VERIFY_PASS
    0x2E: "fingerprint",  # MINOR_FINGERPRINT_PASSWD_VERIFY_PASS
    0x45: "fingerprint",  # MINOR_EMPLOYEENO_AND_FP_VERIFY_PASS
    0x48: "fingerprint",  # MINOR_EMPLOYEENO_AND_FP_AND_PW_VERIFY_PASS
    0x4B: "face",  # MINOR_FACE_VERIFY_PASS
    0x4D: "face",  # MINOR_EMPLOYEENO_AND_FACE_VERIFY_PASS
    0x65: "password",  # MINOR_EMPLOYEENO_AND_PW_PASS
    0xB5: "password",  # MINOR_PASSWD_VERIFY_PASS
}

# Common minors that are not a punch, named for the sync result's reasons.
OTHER_MINORS: dict[int, str] = {
    0x15: "door unlocked",  # MINOR_LOCK_OPEN
    0x16: "door locked",  # MINOR_LOCK_CLOSE
    0x4C: "face verification failed",  # MINOR_FACE_VERIFY_FAIL
    0x27: "fingerprint not matched",  # MINOR_FINGERPRINT_COMPARE_FAIL
    0x09: "card not enrolled",  # MINOR_INVALID_CARD
    0x400: "remote door open",  # MINOR_REMOTE_OPEN_DOOR
}

# attendanceStatus values; `undefined` (no status key pressed) leaves the direction to pairing.
ATTENDANCE_STATUSES = (
    "checkIn",
    "checkOut",
    "breakOut",
    "breakIn",
    "overtimeIn",
    "overtimeOut",
    "undefined",
)

# Search status words: MORE = another page follows; OK and NO MATCH(ES) end the search.
MORE = "MORE"


@dataclass(frozen=True, slots=True)
class AcsEvent:
    """One access-control event as the terminal reported it."""

    serial: int
    major: int
    minor: int
    time: datetime  # aware with the terminal's offset; naive from firmwares that send none
    employee_no: str
    attendance_status: str | None
    verify_mode: str | None  # currentVerifyMode: the terminal's accepted modes
    raw: dict[str, Any]

    @property
    def credential(self) -> str | None:
        """The credential a passed authentication proves, or None when this is no punch."""
        if self.major != MAJOR_EVENT:
            return None
        return PASS_MINORS.get(self.minor)

    def ignore_reason(self) -> str | None:
        """Why this event is not a punch, or None when it is one."""
        if self.credential is None:
            what = OTHER_MINORS.get(self.minor, "not an authentication")
            return f"event {self.major}/{self.minor}: {what}"
        if not self.employee_no:
            return f"event {self.major}/{self.minor}: no employee number"
        return None


@dataclass(frozen=True, slots=True)
class AcsPage:
    """One page of an AcsEvent search."""

    events: list[AcsEvent]
    bad: list[tuple[str, dict[str, Any]]]  # (reason, raw item) of unreadable items
    total: int  # totalMatches
    more: bool  # responseStatusStrg is MORE


class WireError(ValueError):
    """A reply that is not an AcsEvent search result."""


def parse_time(text: Any) -> datetime:
    """An ISAPI time (ISO 8601): aware with its offset or Z, naive when the firmware sent none."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"no time: {text!r}")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"unreadable time: {text!r}") from None


def parse_event(item: Any) -> AcsEvent:
    """One InfoList item; ValueError names what is missing or wrong."""
    if not isinstance(item, dict):
        raise ValueError("event is not an object")
    try:
        serial = int(item["serialNo"])
        major, minor = int(item["major"]), int(item["minor"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"missing or bad serialNo/major/minor: {exc}") from None
    employee = item.get("employeeNoString", item.get("employeeNo", ""))
    status = item.get("attendanceStatus")
    mode = item.get("currentVerifyMode")
    return AcsEvent(
        serial=serial,
        major=major,
        minor=minor,
        time=parse_time(item.get("time")),
        employee_no=str(employee).strip() if employee is not None else "",
        attendance_status=status if isinstance(status, str) else None,
        verify_mode=mode if isinstance(mode, str) else None,
        raw=item,
    )


def parse_page(body: Any) -> AcsPage:
    """An AcsEvent search reply; WireError when it is not one."""
    acs = body.get("AcsEvent") if isinstance(body, dict) else None
    if not isinstance(acs, dict):
        raise WireError("reply has no AcsEvent object")
    status = acs.get("responseStatusStrg")
    if not isinstance(status, str):
        raise WireError("reply has no responseStatusStrg")
    items = acs.get("InfoList") or []  # absent when nothing matched
    if not isinstance(items, list):
        raise WireError("InfoList is not a list")
    events: list[AcsEvent] = []
    bad: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        try:
            events.append(parse_event(item))
        except ValueError as exc:
            bad.append((str(exc), item if isinstance(item, dict) else {"item": repr(item)}))
    try:
        total = int(acs.get("totalMatches") or 0)
    except (TypeError, ValueError):
        raise WireError("totalMatches is not a number") from None
    return AcsPage(events=events, bad=bad, total=total, more=status.upper() == MORE)


def search_condition(
    search_id: str,
    position: int,
    max_results: int,
    start: datetime,
    end: datetime,
    *,
    begin_serial: int | None = None,
) -> dict[str, Any]:
    """The AcsEventCond body of one page: every major-5 event in a window, oldest first."""
    cond: dict[str, Any] = {
        "searchID": search_id,
        "searchResultPosition": position,
        "maxResults": max_results,
        "major": MAJOR_EVENT,
        "minor": 0,  # all minors: the passed-authentication ones are told apart here
        "startTime": start.isoformat(timespec="seconds"),
        "endTime": end.isoformat(timespec="seconds"),
        "timeReverseOrder": False,
    }
    if begin_serial is not None:
        cond["beginSerialNo"] = begin_serial  # firmwares without it ignore it: we filter too
    return {"AcsEventCond": cond}
