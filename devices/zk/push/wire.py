"""The small text formats of the push protocol: handshake options, commands, INFO, ZK time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# TransFlag names: which tables the terminal should upload on its own.
TRANS_FLAG = "TransData AttLog\tOpLog\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFACE\tUserPic"


@dataclass(frozen=True, slots=True)
class HandshakeOptions:
    """What the server tells a terminal at handshake (``GET /iclock/cdata?options=all``)."""

    serial: str
    attlog_stamp: str = "0"  # the terminal resumes uploading after this stamp; 0 = everything
    operlog_stamp: str = "0"
    photo_stamp: str = "0"
    error_delay_s: int = 30  # seconds the terminal waits after a failed request
    delay_s: int = 10  # seconds between its polls of /iclock/getrequest
    trans_times: str = "00:00;14:05"
    trans_interval_min: int = 1
    trans_flag: str = TRANS_FLAG
    timezone_hours: int | None = None  # None: the zone has no whole-hour offset; leave it out
    realtime: bool = True
    encrypt: bool = False
    server_version: str = "3.1.2"


def handshake_text(options: HandshakeOptions) -> str:
    """The handshake reply body, one ``Key=value`` per line, old and new stamp names both."""
    lines = [
        f"GET OPTION FROM: {options.serial}",
        f"ATTLOGStamp={options.attlog_stamp}",
        f"Stamp={options.attlog_stamp}",  # firmware before ATTLOGStamp reads this name
        f"OPERLOGStamp={options.operlog_stamp}",
        f"OpStamp={options.operlog_stamp}",
        f"ATTPHOTOStamp={options.photo_stamp}",
        f"PhotoStamp={options.photo_stamp}",
        f"ErrorDelay={options.error_delay_s}",
        f"Delay={options.delay_s}",
        f"TransTimes={options.trans_times}",
        f"TransInterval={options.trans_interval_min}",
        f"TransFlag={options.trans_flag}",
    ]
    if options.timezone_hours is not None:
        lines.append(f"TimeZone={options.timezone_hours}")
    lines += [
        f"Realtime={1 if options.realtime else 0}",
        f"Encrypt={1 if options.encrypt else 0}",
        f"ServerVer={options.server_version}",
    ]
    return "\n".join(lines) + "\n"


def parse_options(text: str) -> dict[str, str]:
    """Read a handshake reply into a mapping (the terminal's side of `handshake_text`)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif line.startswith("GET OPTION FROM:"):
            out["SN"] = line.split(":", 1)[1].strip()
    return out


def zk_time(value: datetime) -> int:
    """The terminal's packed integer time (``SET OPTION DateTime=``), from its local time."""
    return (
        ((value.year % 100) * 12 * 31 + (value.month - 1) * 31 + value.day - 1) * 86400
        + (value.hour * 60 + value.minute) * 60
        + value.second
    )


def from_zk_time(value: int) -> datetime:
    """Unpack a `zk_time` integer into the naive local time it stands for."""
    second, value = value % 60, value // 60
    minute, value = value % 60, value // 60
    hour, value = value % 24, value // 24
    day, value = value % 31 + 1, value // 31
    month, year = value % 12 + 1, value // 12 + 2000
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - terminal local


def command_line(command_id: int, command: str) -> str:
    """One command as handed to the terminal by /iclock/getrequest."""
    if "\n" in command or "\r" in command:
        raise ValueError("a command is one line")
    return f"C:{command_id}:{command}"


def parse_command_line(line: str) -> tuple[int, str]:
    """Split ``C:<id>:<command>``; ValueError if the line is not one."""
    head, sep, rest = line.partition(":")
    ident, sep2, command = rest.partition(":")
    if head != "C" or not sep or not sep2:
        raise ValueError(f"not a command line: {line[:60]!r}")
    return int(ident), command


def _clean(value: str) -> str:
    # A tab or newline inside a value would split the record on the terminal.
    return " ".join(value.replace("\t", " ").split())


def update_user_command(pin: str, name: str, *, privilege: int = 0, card: str = "") -> str:
    """``DATA UPDATE USERINFO``: put one person on the terminal's roster."""
    fields = [f"PIN={_clean(pin)}", f"Name={_clean(name)}", f"Pri={privilege}"]
    if card:
        fields.append(f"Card={_clean(card)}")
    return "DATA UPDATE USERINFO " + "\t".join(fields)


def delete_user_command(pin: str) -> str:
    """``DATA DELETE USERINFO``: take one person off the terminal's roster."""
    return f"DATA DELETE USERINFO PIN={_clean(pin)}"


def set_clock_command(local_time: datetime) -> str:
    """``SET OPTION DateTime=``: set the terminal's clock to this local time."""
    return f"SET OPTION DateTime={zk_time(local_time)}"


REBOOT_COMMAND = "REBOOT"
CLEAR_LOG_COMMAND = "CLEAR LOG"
INFO_COMMAND = "INFO"


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    """The ``INFO=`` a terminal adds to getrequest: firmware, users, templates, records, IP."""

    firmware: str | None = None
    users: int | None = None
    fingerprints: int | None = None
    records: int | None = None
    ip: str | None = None


def parse_info(text: str) -> TerminalInfo:
    """Read ``INFO=fw,users,fps,records,ip,…``; fields that are not numbers become None."""
    parts = [p.strip() for p in text.split(",")]

    def number(i: int) -> int | None:
        if i < len(parts) and parts[i].isdigit():
            return int(parts[i])
        return None

    return TerminalInfo(
        firmware=parts[0] or None if parts else None,
        users=number(1),
        fingerprints=number(2),
        records=number(3),
        ip=parts[4] if len(parts) > 4 and parts[4] else None,
    )


def info_text(info: TerminalInfo) -> str:
    """The ``INFO=`` value a terminal would send for `info` (used by the simulator)."""
    return ",".join(
        "" if v is None else str(v)
        for v in (info.firmware, info.users, info.fingerprints, info.records, info.ip)
    )
