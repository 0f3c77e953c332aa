"""Who a push terminal is: serial lookup, token check, pending approval, status and handshake.

Errors raised to the /iclock routes (each carries the HTTP status the terminal gets)::

    PushError (400)
    ├── UnknownTerminal (403)    serial names no push device, and unknown serials are refused
    ├── PendingApproval (403)    held for approval, or disabled; nothing is stored meanwhile
    ├── BadToken (401)           the device has a token and the request's does not match
    ├── BodyTooLarge (413)
    └── RateLimited (429)

A terminal that gets no ``OK`` keeps its records and sends them again later, so refusing
(rather than storing somewhere provisional) loses nothing: once HR approves the device, the
terminal's next upload lands in the store.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from collector.masterdata.zones import change_device_zone
from collector.normalize import NormalizeError, zone
from collector.runtime import Store, utcnow
from collector.sealing import SecretKeyError
from collector.store.models import Device
from devices.zk.push.wire import HandshakeOptions, handshake_text, parse_info

log = logging.getLogger(__name__)
PUSH_KIND = "push"
STATUS_OFFLINE = "offline"
MAX_PENDING = 100  # terminals held for approval at once
SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PushError(Exception):
    """A request a push terminal made that cannot be served; `status` is the HTTP answer."""

    status = 400


class UnknownTerminal(PushError):
    """No push device has this serial number."""

    status = 403


class PendingApproval(PushError):
    """The device exists but is waiting for approval or is disabled."""

    status = 403


class BadToken(PushError):
    """The per-terminal token is missing or wrong."""

    status = 401


class BodyTooLarge(PushError):
    """The request body is over the configured limit."""

    status = 413


class RateLimited(PushError):
    """The terminal is calling faster than its allowance."""

    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited; retry after {retry_after:.1f}s")
        self.retry_after = retry_after


def check_serial(serial: str | None) -> str:
    """A serial number as the terminal sent it, or PushError if it cannot be one."""
    if not serial or not SERIAL.match(serial):
        raise PushError("missing or malformed SN")
    return serial


def terminal(
    session: Session, store: Store, *, serial: str, token: str | None, now: datetime
) -> Device:
    """The enabled push device for `serial`, checked against its token; raises PushError."""
    serial = check_serial(serial)
    device = session.scalar(select(Device).where(Device.serial == serial))
    if device is None or device.kind != PUSH_KIND:
        if device is None and store.settings.push_unknown_serials == "pending":
            _hold(store, serial, now)
            raise PendingApproval(f"terminal {serial} is waiting for approval")
        raise UnknownTerminal(f"unknown terminal {serial}")
    try:
        secret = store.box.open(device.comm_key_secret)
    except SecretKeyError:
        log.error("push: terminal %s has a comm key this secret key cannot open", serial)
        raise BadToken("token missing or wrong") from None
    if secret and not (token and hmac.compare_digest(secret.encode(), token.encode())):
        raise BadToken("token missing or wrong")
    if not device.enabled:
        _hold(store, serial, now)
        raise PendingApproval(f"terminal {serial} is not enabled")
    return device


def _hold(store: Store, serial: str, now: datetime) -> None:
    # Its own transaction: the caller's is rolled back by the error the terminal gets.
    try:
        with store.sessions.begin() as session:
            device = session.scalar(select(Device).where(Device.serial == serial))
            if device is not None:
                device.last_seen_at = now
                return
            pending = session.scalar(
                select(func.count()).select_from(Device).where(Device.status == "pending")
            )
            # Whoever can reach the port chooses serials: cap the rows they can create.
            if (pending or 0) >= MAX_PENDING:
                log.warning("push: %d terminals already pending; %s not recorded", pending, serial)
                return
            session.add(_pending_device(serial, store, now))
    except IntegrityError:
        pass  # another request from the same terminal created the row first


def _pending_device(serial: str, store: Store, now: datetime) -> Device:
    return Device(
        code=f"push-{serial}"[:64],
        name=f"pending approval: {serial}",
        kind=PUSH_KIND,
        serial=serial,
        enabled=False,
        status="pending",
        timezone=store.settings.default_timezone,
        last_seen_at=now,
        options={},
        sync_state={},
        direction_mode="auto",
        transport="auto",
    )


def _tell(session: Session, events: list[tuple[str, str, str, str | None]], now: datetime) -> None:
    """Write device.online/offline events (code, status, previous, error) to the outbox."""
    # Imported here: the outbound payloads import collector.days, which imports this module's
    # importers; at call time every module is loaded.
    from collector.outbound.events import emit
    from collector.outbound.payloads import device_event

    made = [device_event(code, status, was, error, now) for code, status, was, error in events]
    emit(session.connection(), made, now=now)


def seen(device: Device, now: datetime) -> None:
    """Mark the terminal online as of `now` (every request it makes is a heartbeat).

    Coming back from offline is news (device.online), told once: only the request whose
    conditional update turns the row online emits it, however many arrive together.
    """
    session = object_session(device)
    if device.status == STATUS_OFFLINE and session is not None:
        back = session.execute(
            update(Device)
            .where(Device.id == device.id, Device.status == STATUS_OFFLINE)
            .values(status="online")
            .execution_options(synchronize_session=False)
        )
        if getattr(back, "rowcount", 0) == 1:
            _tell(session, [(device.code, "online", STATUS_OFFLINE, None)], now)
    device.status = "online"
    device.last_seen_at = now
    device.last_error = None


def expire_silent(session: Session, *, now: datetime, after_s: int) -> int:
    """Mark push terminals that have not called for `after_s` seconds offline; how many.

    Each one that goes offline is a device.offline event, written in the same transaction.
    """
    gone = (
        session.execute(
            update(Device)
            .where(
                Device.kind == PUSH_KIND,
                Device.status == "online",
                Device.last_seen_at < now - timedelta(seconds=after_s),
            )
            .values(status=STATUS_OFFLINE)
            .returning(Device.code)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    if gone:
        silent = f"no request for more than {after_s} s"
        _tell(session, [(code, STATUS_OFFLINE, "online", silent) for code in gone], now)
    return len(gone)


def note_info(device: Device, info: str | None) -> int | None:
    """Keep what the terminal's ``INFO=`` says; return its record count if it gave one."""
    if not info:
        return None
    parsed = parse_info(info)
    if parsed.firmware:
        device.firmware = parsed.firmware[:100]
    if parsed.users is not None:
        device.user_count = parsed.users
    if parsed.records is not None:
        device.record_count = parsed.records
    return parsed.records


def whole_hour_offset(tz_name: str, now: datetime) -> int | None:
    """The zone's current UTC offset in whole hours, or None when it is not whole hours.

    Terminals read ``TimeZone`` as whole hours; a half-hour zone would be truncated, so it
    is left out and the clock is set by command instead.
    """
    try:
        offset = now.astimezone(zone(tz_name)).utcoffset()
    except NormalizeError:
        return None
    if offset is None:
        return None
    seconds = int(offset.total_seconds())
    return seconds // 3600 if seconds % 3600 == 0 else None


def handshake(store: Store, *, serial: str, token: str | None, now: datetime) -> str:
    """Answer ``GET /iclock/cdata?options=all`` with the options and stamps from the store."""
    with store.sessions.begin() as session:
        device = terminal(session, store, serial=serial, token=token, now=now)
        seen(device, now)
        state = device.sync_state or {}
        opts = device.options or {}
        options = HandshakeOptions(
            serial=serial,
            attlog_stamp=str(state.get("ATTLOGStamp", "0")),
            operlog_stamp=str(state.get("OPERLOGStamp", "0")),
            photo_stamp=str(state.get("ATTPHOTOStamp", "0")),
            delay_s=int(opts.get("delay_s", 10)),
            error_delay_s=int(opts.get("error_delay_s", 30)),
            timezone_hours=whole_hour_offset(device.timezone, now),
        )
        return handshake_text(options)


def registry(store: Store, *, serial: str, token: str | None, body: str, now: datetime) -> str:
    """``/iclock/registry``: the terminal describes itself; keep its firmware and platform."""
    with store.sessions.begin() as session:
        device = terminal(session, store, serial=serial, token=token, now=now)
        seen(device, now)
        values: dict[str, str] = {}
        for part in re.split(r"[,\n&\t]", body):
            key, sep, value = part.strip().lstrip("~").partition("=")
            if sep:
                values[key.strip().lower()] = value.strip()
        if values.get("firmver"):
            device.firmware = values["firmver"][:100]
        if values.get("devicetype") or values.get("devicename"):
            device.platform = (values.get("devicename") or values["devicetype"])[:100]
        return "OK"


def heartbeat(store: Store, *, serial: str, token: str | None, now: datetime) -> str:
    """``/iclock/ping``: the terminal is alive."""
    with store.sessions.begin() as session:
        seen(terminal(session, store, serial=serial, token=token, now=now), now)
    return "OK"


def approve(store: Store, *, serial: str, code: str | None, timezone: str | None) -> Device:
    """Enable a terminal held for approval (optionally renaming it and setting its zone)."""
    if timezone:
        try:
            zone(timezone)
        except NormalizeError as exc:
            raise PushError(str(exc)) from exc
    try:
        with store.sessions.begin() as session:
            device = session.scalar(select(Device).where(Device.serial == serial))
            if device is None:
                raise UnknownTerminal(f"no device has serial {serial}")
            if timezone:
                # Before a new code: punches already stored carry the old one.
                change_device_zone(
                    session,
                    device,
                    timezone,
                    actor="cli:push approve",
                    now=utcnow(),
                    policy=store.policy,
                )
            if code:
                device.code = code
            device.enabled = True
            device.status = "unknown"
            device.name = device.name.removeprefix("pending approval: ")
            return device
    except IntegrityError as exc:
        raise PushError(f"device code {code!r} is already taken") from exc


def utc(value: datetime) -> datetime:
    """`value` in UTC (aware)."""
    return value.astimezone(UTC)
