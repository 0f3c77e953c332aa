"""Terminals as the poller sees them: their configuration rows and their status columns."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from collector.normalize import RawPunch
from collector.outbound.events import emit
from collector.outbound.payloads import device_event
from collector.runtime import Store, utcnow
from collector.sealing import SecretBox, SecretKeyError, is_sealed
from collector.settings import Settings
from collector.store.ingest import QuarantineItem, ingest
from collector.store.models import Device, SiteAgentTerminal
from devices.types import DeviceInfo
from devices.zk.driver import Transport, ZKTarget
from rules.vocabulary import DirectionMode

log = logging.getLogger(__name__)
STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"
STATUS_UNAUTHORIZED = "unauthorized"
T = TypeVar("T")


class TerminalConfigError(ValueError):
    """A terminal's configuration cannot be used (the message goes to last_error)."""


@dataclass(frozen=True)
class Terminal:
    """One ZK terminal's connection and normalisation settings (comm key kept out of repr)."""

    code: str
    host: str
    port: int = 4370
    transport: Transport = "auto"
    timezone: str = "UTC"
    direction_mode: DirectionMode = DirectionMode.AUTO
    options: dict[str, Any] = field(default_factory=dict)
    comm_key: int = field(default=0, repr=False)

    def target(self, settings: Settings) -> ZKTarget:
        """The driver's view of this terminal."""
        return ZKTarget(
            host=self.host,
            port=self.port,
            transport=self.transport,
            comm_key=self.comm_key,
            timeout=float(self.options.get("timeout_s", settings.zk_timeout_s)),
            encoding=str(self.options.get("encoding", "utf-8")),
        )

    def interval(self, settings: Settings) -> float:
        """Seconds between polls."""
        return float(self.options.get("interval_s", settings.zk_poll_interval_s))

    @property
    def live(self) -> bool:
        """Hold a realtime-event connection instead of polling."""
        return bool(self.options.get("live", False))

    @property
    def set_clock(self) -> bool:
        """Correct the terminal's clock when it drifts past the threshold (off by default)."""
        return bool(self.options.get("set_clock", False))

    @property
    def clear_after_sync(self) -> bool:
        """Erase the terminal's log once all of it is stored (off by default)."""
        return bool(self.options.get("clear_after_sync", False))


def comm_key_number(secret: str | None) -> int:
    """ZK comm keys are numbers (0 = none)."""
    if not secret:
        return 0
    try:
        key = int(secret.strip())
    except ValueError:
        raise TerminalConfigError("comm key must be a number") from None
    if not 0 <= key <= 0xFFFFFFFF:
        raise TerminalConfigError("comm key out of range")
    return key


def terminal_from_row(device: Device, box: SecretBox | None = None) -> Terminal:
    """A Terminal from its device row; configuration problems raise TerminalConfigError."""
    if not device.host:
        raise TerminalConfigError("no host configured")
    transport = device.transport if device.transport in ("tcp", "udp", "auto") else "auto"
    return Terminal(
        code=device.code,
        host=device.host,
        port=device.port or 4370,
        transport=transport,  # type: ignore[arg-type]
        timezone=device.timezone or "UTC",
        direction_mode=DirectionMode(device.direction_mode or "auto"),
        options=dict(device.options or {}),
        comm_key=comm_key_number(open_secret(box, device.comm_key_secret)),
    )


def open_secret(box: SecretBox | None, stored: str | None) -> str | None:
    """A device's stored secret in clear (sealed or, from before sealing, plain)."""
    if stored and is_sealed(stored):
        if box is None:
            raise TerminalConfigError("comm key is sealed and no secret box was given")
        try:
            return box.open(stored)
        except SecretKeyError as exc:
            raise TerminalConfigError(str(exc)) from None
    return stored  # a plain value from before sealing: still used, sealed at next apply


def load_terminals(
    engine: Engine, codes: list[str] | None = None, *, box: SecretBox | None = None
) -> list[Terminal]:
    """Enabled ZK terminals from the store; a misconfigured one is marked and skipped."""
    return load_devices(engine, "zk", terminal_from_row, codes, box=box)


def load_devices(
    engine: Engine,
    kind: str,
    build: Callable[[Device, SecretBox | None], T],
    codes: list[str] | None = None,
    *,
    box: SecretBox | None = None,
) -> list[T]:
    """Enabled devices of one kind not behind a site agent, each built from its row; a
    misconfigured one is marked."""
    out: list[T] = []
    with Session(engine) as session:
        query = select(Device).where(
            Device.kind == kind,
            Device.enabled.is_(True),
            # A terminal behind a site agent is read by the agent, never from here.
            Device.id.not_in(select(SiteAgentTerminal.device_id)),
        )
        if codes is not None:
            query = query.where(Device.code.in_(codes))
        for device in session.scalars(query.order_by(Device.code)):
            try:
                out.append(build(device, box))
            except (TerminalConfigError, ValueError) as exc:
                log.warning("terminal %s is misconfigured: %s", device.code, exc)
                device.status, device.last_error = STATUS_OFFLINE, f"configuration: {exc}"
        session.commit()
    return out


def mark_status(engine: Engine, code: str, *, now: datetime | None = None, **values: Any) -> None:
    """Update a terminal's status columns in a transaction of its own; a change between
    online and offline is written to the outbox in the same transaction."""
    serial = values.pop("serial", None)
    with engine.begin() as conn:
        if "status" in values:
            _status_event(conn, code, values["status"], values.get("last_error"), now or utcnow())
        if serial:
            # serial is unique across devices; a clash (two rows, one terminal) must not
            # abort the status update.
            other = conn.execute(
                select(Device.code).where(Device.serial == serial, Device.code != code)
            ).first()
            if other is None:
                values["serial"] = serial
            else:
                log.warning("terminal %s reports serial %s, already %s's", code, serial, other[0])
        conn.execute(update(Device).where(Device.code == code).values(**values))


def read_sync_state(engine: Engine, code: str) -> dict[str, Any]:
    """The committed sync state of a terminal."""
    with engine.connect() as conn:
        state = conn.execute(select(Device.sync_state).where(Device.code == code)).scalar()
    return dict(state or {})


def commit_batch(
    store: Store,
    code: str,
    items: list[RawPunch | QuarantineItem],
    sync_state: dict[str, Any],
    counts: Counter[str],
    *,
    read: int,
) -> None:
    """Store a batch through the one ingest with the device's new cursor, in one transaction."""
    now = utcnow()
    with store.engine.begin() as conn:
        result = ingest(conn, items, now=now, policy=store.policy)
        conn.execute(
            update(Device)
            .where(Device.code == code)
            .values(sync_state=sync_state, last_sync_at=now, **seen(now))
        )
    counts.update(
        read=read,
        inserted=result.inserted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
    )


def seen(now: datetime) -> dict[str, Any]:
    """Status values of a terminal that just answered."""
    return {"status": STATUS_ONLINE, "last_seen_at": now, "last_error": None}


def identity(info: DeviceInfo | None) -> dict[str, Any]:
    """Status values of what a terminal says it is (none when it was not asked)."""
    if info is None:
        return {}
    return {"firmware": info.firmware, "platform": info.platform, "serial": info.serial}


# A terminal is "up" online and "down" offline or unauthorized; unknown (never polled yet)
# going online is its first answer, not news.
_UP = {STATUS_ONLINE}
_DOWN = {STATUS_OFFLINE, STATUS_UNAUTHORIZED}


def _status_event(
    conn: Connection, code: str, status: str, error: str | None, now: datetime
) -> None:
    previous = conn.execute(select(Device.status).where(Device.code == code)).scalar()
    if previous is None or previous == status:
        return
    went_down = status in _DOWN and previous not in _DOWN
    came_up = status in _UP and previous in _DOWN
    if went_down or came_up:
        emit(conn, [device_event(code, status, previous, error, now)], now=now)
