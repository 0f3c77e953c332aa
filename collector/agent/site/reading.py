"""Reading the office's terminals into the agent's buffer, with the poller's drivers and rules.

A ZK terminal is read with `devices.zk.driver.ZKSession` exactly as the central poller reads
it (`collector.poller.sync`): the records after the cursor in one pass, the clock measured
and skewed punches flagged. Each record becomes the `RawPunch` the poller would build
(`collector.poller.punches.zk_punch`, as `collector.poller.sync.to_batch` does), forwarded as
`raw_to_json` writes it; unreadable records travel as bad records with their bytes. The
punches and the new cursor commit to the buffer together.

Hikvision terminals are read by `hikreading`. Each terminal has one `TerminalReader`: its
interval, capped jittered backoff and availability, logging once when the terminal goes
down and once when it comes back.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.agent.site.buffer import Buffer, BufferFull
from collector.agent.site.hikreading import read_hik
from collector.agent.wire import TerminalConfig, TerminalHealth
from collector.normalize import raw_to_json, to_utc, zone
from collector.poller.punches import zk_punch
from devices.errors import DeviceAuthError, DeviceError
from devices.types import BadRecord, DevicePunch
from devices.zk.driver import LogCursor, ZKSession, ZKTarget
from rules.vocabulary import DirectionMode, PunchFlag

log = logging.getLogger(__name__)
INFO_EVERY = 20  # identity (firmware, serial) is re-read every this many reads


def zk_items(
    records: list[DevicePunch | BadRecord], terminal: TerminalConfig, flags: int
) -> Iterator[dict[str, Any]]:
    """A read's records as batch items, one at a time: punches as the poller builds them,
    or bad records."""
    mode = DirectionMode(terminal.direction_mode or "auto")
    for item in records:
        if isinstance(item, BadRecord):
            raw = item.raw.hex() if isinstance(item.raw, bytes) else item.raw
            yield {
                "bad": {
                    "reason": f"{item.reason} (log record {item.position})",
                    "raw": raw,
                    "device_code": terminal.code,
                    "reference": "zk attendance record",
                }
            }
            continue
        punch = zk_punch(item, terminal.code, terminal.timezone, mode, flags)
        # Unset fields are left out: the centre reads them as their defaults, and the
        # batch is half the size on the wire and in the buffer.
        yield {"punch": {k: v for k, v in raw_to_json(punch).items() if v is not None}}


def zk_target(terminal: TerminalConfig, timeout_s: float) -> ZKTarget:
    """The driver's view of a configured terminal."""
    transport = terminal.transport if terminal.transport in ("tcp", "udp", "auto") else "auto"
    return ZKTarget(
        host=terminal.host,
        port=terminal.port,
        transport=transport,  # type: ignore[arg-type]
        comm_key=int(terminal.secret or 0),
        timeout=float(terminal.options.get("timeout_s", timeout_s)),
        encoding=str(terminal.options.get("encoding", "utf-8")),
    )


@dataclass
class TerminalReader:
    """One terminal on the agent: when to read it next, and how it answered last."""

    config: TerminalConfig
    buffer: Buffer
    interval_s: float
    timeout_s: float = 5.0
    skew_threshold_s: float = 120.0
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    next_due: float = 0.0
    failures: int = 0
    reads: int = 0
    health: TerminalHealth | None = None

    def __post_init__(self) -> None:
        self.health = TerminalHealth(code=self.config.code)

    def due(self, now: float) -> bool:
        """Whether the terminal should be read now."""
        return now >= self.next_due

    def poll(self) -> int:
        """Read the terminal once; failures are recorded and logged once, never raised."""
        try:
            added = self._read()
        except BufferFull as exc:
            self._fail("online", str(exc), log_it=False)
            log.warning("%s", exc)
            return 0
        except sqlite3.OperationalError as exc:
            # The buffer's disk is full (or the file locked): the read is not kept and the
            # cursor stays; forwarding goes on, and reading resumes once there is room.
            self._fail("online", f"buffer: {exc}")
            return 0
        except DeviceError as exc:
            status = "unauthorized" if isinstance(exc, DeviceAuthError) else "offline"
            self._fail(status, str(exc) or type(exc).__name__)
            return 0
        except ValueError as exc:  # a comm key that is not a number, an unknown zone…
            self._fail("offline", f"configuration: {exc}")
            return 0
        if self.failures:
            log.info("terminal %s is back", self.config.code)
        self.failures = 0
        self.next_due = time.monotonic() + self.interval_s
        return added

    def _fail(self, status: str, reason: str, *, log_it: bool = True) -> None:
        if log_it and not self.failures:
            log.warning("terminal %s is down: %s", self.config.code, reason)
        self.failures += 1
        delay = min(self.retry_max_s, self.retry_base_s * 2 ** (self.failures - 1))
        self.next_due = time.monotonic() + self.rng.uniform(delay / 2, delay)
        assert self.health is not None
        self.health = self.health.model_copy(update={"status": status, "last_error": reason})

    def _read(self) -> int:
        full = self.reads % INFO_EVERY == 0
        if self.config.kind == "hik":
            added, update = read_hik(
                self.config,
                self.buffer,
                timeout_s=self.timeout_s,
                skew_threshold_s=self.skew_threshold_s,
                full_info=full,
            )
        else:
            added, update = self._read_zk(full)
        self.reads += 1
        assert self.health is not None
        update |= {"status": "online", "last_error": None, "last_seen_at": datetime.now(UTC)}
        self.health = self.health.model_copy(update=update)
        if added:
            log.info("terminal %s: %d new punches", self.config.code, added)
        return added

    def _read_zk(self, full: bool) -> tuple[int, dict[str, Any]]:
        terminal = self.config
        with ZKSession(zk_target(terminal, self.timeout_s)) as session:
            info = session.info() if full else session.sizes()
            before = datetime.now(UTC)
            clock = session.clock()
            after = datetime.now(UTC)
            device_utc, _ = to_utc(clock, zone(terminal.timezone))
            skew = (device_utc - (before + (after - before) / 2)).total_seconds()
            cursor = LogCursor.from_dict(self.buffer.cursor(terminal.code))
            read = session.read_log(cursor)
        flags = int(PunchFlag.CLOCK_SKEW) if abs(skew) > self.skew_threshold_s else 0
        items = zk_items(read.items, terminal, flags)
        added = self.buffer.add(
            terminal.code, items, read.cursor.as_dict(), datetime.now(UTC), count=len(read.items)
        )
        update: dict[str, Any] = {
            "clock_skew_s": round(skew, 3),
            "record_count": read.total,
            "record_capacity": info.record_capacity,
            "user_count": info.users,
        }
        if full:
            update |= {"firmware": info.firmware, "platform": info.platform, "serial": info.serial}
        return added, update
