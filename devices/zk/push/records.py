"""Parsers for the bodies push terminals POST to /iclock: ATTLOG, OPERLOG and command results.

Tolerant in what they accept (LF or CRLF, a leading ``TABLE=`` line, extra or missing
optional fields, space-separated bridges) and strict in what they yield: every non-blank
line becomes either a value or a `BadRecord` carrying its 1-based line number in the body
as sent (blank and ``TABLE=`` lines keep their numbers, so a line number always points at
the line the terminal sent).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

from devices.types import BadRecord, DevicePunch

_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
MAX_LINE_CHARS = 4096  # a longer line is not a record any firmware sends
_SPACED = re.compile(r"^(\S+)\s+(\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}:\d{2})(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class AttLine:
    """One ATTLOG line that reads as a punch, with where it sat in the body."""

    line: int
    punch: DevicePunch


@dataclass(frozen=True, slots=True)
class UserLine:
    """A ``USER PIN=…`` line: one person on the terminal's roster."""

    line: int
    pin: str
    name: str = ""
    privilege: int = 0
    card: str = ""
    group: str = ""
    has_password: bool = False
    raw: str = ""


@dataclass(frozen=True, slots=True)
class TemplateLine:
    """A biometric template line (``FP``, ``FACE``, ``BIODATA``): the person has one enrolled."""

    line: int
    kind: str
    pin: str
    index: str = ""


@dataclass(frozen=True, slots=True)
class OpLogLine:
    """An ``OPLOG`` line: an operation on the terminal (enrolment, menu access, alarm…)."""

    line: int
    code: str
    admin: str
    timestamp: datetime | None
    raw: str


OperLine = UserLine | TemplateLine | OpLogLine


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A terminal's answer to one ``C:<id>:<command>``: its return code and any content."""

    command_id: int
    return_code: int
    cmd: str = ""
    content: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def body_lines(body: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) for every line that may hold a record."""
    for number, line in enumerate(body.splitlines(), start=1):
        text = line.strip("\r\n\x00")
        if not text.strip():
            continue
        if number == 1 and text.upper().startswith("TABLE="):
            continue  # some bridges repeat the table name as the body's first line
        yield number, text


def parse_time(text: str) -> datetime:
    """A terminal-local ``YYYY-MM-DD HH:MM:SS`` (or ISO ``T``) time; ValueError if not one."""
    text = text.strip()
    # A regex and int() on its groups: strptime costs more than the rest of the line.
    found = _TIME.fullmatch(text)
    if found is None:
        if _OFFSET.search(text):
            raise ValueError(f"time {text!r} carries an offset; terminals send local time")
        raise ValueError(f"not a local time: {text!r}")
    year, month, day, hour, minute, second = map(int, found.groups())
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - terminal local


def _int_field(fields: list[str], index: int, name: str) -> int | None:
    if index >= len(fields) or not fields[index].strip():
        return None
    text = fields[index].strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None


def parse_attlog_line(number: int, line: str) -> AttLine | BadRecord:
    """Read one ATTLOG line: PIN, local time, status, verify, workcode, reserved…"""
    if len(line) > MAX_LINE_CHARS:
        return BadRecord(f"line longer than {MAX_LINE_CHARS} characters", line, number)
    if "\t" in line:
        fields = line.split("\t")
    else:
        found = _SPACED.match(line.strip())
        if found is None:
            return BadRecord("not a PIN, time, status… record", line, number)
        fields = [found.group(1), found.group(2), *(found.group(3) or "").split()]
    pin = fields[0].strip()
    if not pin:
        return BadRecord("missing PIN", line, number)
    if len(fields) < 2 or not fields[1].strip():
        return BadRecord("missing time", line, number)
    try:
        when = parse_time(fields[1])
    except ValueError:
        return BadRecord(f"unreadable time {fields[1].strip()!r}", line, number)
    try:
        status = _int_field(fields, 2, "status")
        verify = _int_field(fields, 3, "verify")
    except ValueError as exc:
        return BadRecord(str(exc), line, number)
    # A non-numeric work code is firmware noise, not a reason to lose a real punch.
    workcode = None
    if len(fields) > 4 and fields[4].strip().isdigit():
        workcode = int(fields[4].strip())
    punch = DevicePunch(
        user_id=pin, timestamp=when, state=status, verify=verify, workcode=workcode, raw=line
    )
    return AttLine(number, punch)


def parse_attlog(body: str) -> list[AttLine | BadRecord]:
    """Read an ATTLOG upload; one value per record line, in body order."""
    return [parse_attlog_line(number, line) for number, line in body_lines(body)]


def key_values(text: str) -> dict[str, str]:
    """``Key=value`` pairs separated by tabs (or, from some bridges, by spaces)."""
    parts = text.split("\t") if "\t" in text else re.split(r" (?=\w+=)", text)
    out: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().upper()] = value.strip()
    return out


def parse_operlog_line(number: int, line: str) -> OperLine | BadRecord:
    """Read one OPERLOG line (``USER``, ``FP``/``FACE``/``BIODATA``, ``OPLOG``)."""
    if len(line) > MAX_LINE_CHARS * 4:  # templates are long, but not this long
        return BadRecord("line too long", line, number)
    head, _, rest = line.strip().partition(" ")
    kind = head.upper()
    if kind == "USER":
        values = key_values(rest)
        pin = values.get("PIN", "")
        if not pin:
            return BadRecord("USER line without PIN", line, number)
        try:
            privilege = int(values.get("PRI") or 0)
        except ValueError:
            return BadRecord(f"privilege {values.get('PRI')!r} is not a number", line, number)
        return UserLine(
            line=number,
            pin=pin,
            name=values.get("NAME", ""),
            privilege=privilege,
            card=values.get("CARD", ""),
            group=values.get("GRP", ""),
            has_password=bool(values.get("PASSWD")),
            raw=line,
        )
    if kind in {"FP", "FACE", "BIODATA", "BIOPHOTO", "USERPIC"}:
        values = key_values(rest)
        pin = values.get("PIN", "")
        if not pin:
            return BadRecord(f"{kind} line without PIN", line, number)
        return TemplateLine(line=number, kind=kind, pin=pin, index=values.get("FID", ""))
    if kind == "OPLOG":
        fields = rest.split("\t")
        if len(fields) < 3 or not fields[0].strip():
            return BadRecord("OPLOG line with fewer than 3 fields", line, number)
        try:
            when: datetime | None = parse_time(fields[2])
        except ValueError:
            return BadRecord(f"unreadable time {fields[2].strip()!r}", line, number)
        return OpLogLine(
            line=number, code=fields[0].strip(), admin=fields[1].strip(), timestamp=when, raw=line
        )
    return BadRecord(f"unknown OPERLOG record {head[:32]!r}", line, number)


def parse_operlog(body: str) -> list[OperLine | BadRecord]:
    """Read an OPERLOG upload; one value per record line, in body order."""
    return [parse_operlog_line(number, line) for number, line in body_lines(body)]


def parse_command_results(body: str) -> list[CommandResult | BadRecord]:
    """Read a devicecmd body: ``ID=…&Return=…&CMD=…`` lines, each maybe followed by content."""
    out: list[CommandResult | BadRecord] = []
    current: CommandResult | None = None
    for number, line in body_lines(body):
        text = line.strip()
        if text.upper().startswith("ID="):
            if current is not None:
                out.append(current)
                current = None
            values = {k.upper(): v for k, v in parse_qsl(text, keep_blank_values=True)}
            try:
                current = CommandResult(
                    command_id=int(values["ID"]),
                    return_code=int(values.get("RETURN", "")),
                    cmd=values.get("CMD", ""),
                    raw=text,
                )
            except (KeyError, ValueError):
                out.append(
                    BadRecord("command result without a numeric ID and Return", text, number)
                )
            continue
        if current is None:
            out.append(BadRecord("content before any ID= line", text, number))
            continue
        # INFO and query answers follow their ID line as Key=value lines.
        key, sep, value = text.lstrip("~").partition("=")
        if sep:
            current.content[key.strip()] = value.strip()
    if current is not None:
        out.append(current)
    return out
