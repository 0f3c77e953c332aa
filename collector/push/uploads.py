"""What push terminals upload: ATTLOG punches and OPERLOG roster lines, stored in one transaction.

Every ATTLOG line becomes a punch or a quarantine entry (with its line number) through the
one ingest, and the device's stamp, ``reported_until`` and status change in the same
transaction; the caller replies ``OK`` only after that transaction has committed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from collector.metrics import BAD_INPUT
from collector.normalize import NormalizeError, RawPunch, to_utc, zone
from collector.push.terminals import seen, terminal
from collector.runtime import Store
from collector.store.ingest import IngestResult, Outcome, QuarantineItem, ingest
from collector.store.models import Device, PushRosterEntry, Quarantine
from devices.types import BadRecord
from devices.zk.push.records import (
    AttLine,
    OpLogLine,
    TemplateLine,
    UserLine,
    parse_attlog,
    parse_attlog_line,
    parse_operlog,
)
from rules.vocabulary import DirectionMode, SourceKind

MAX_STAMP_CHARS = 32
_ATTLOG_REF = re.compile(r" ATTLOG(?: Stamp=.*)? line (\d+)$")  # what `reference` writes


@dataclass(frozen=True, slots=True)
class UploadReceipt:
    """What one upload amounted to, once committed."""

    table: str
    lines: int
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    roster: int = 0  # roster entries written (OPERLOG)
    ignored: int = 0  # lines of tables punchgate does not keep (photos, operation log)


def reference(serial: str, table: str, stamp: str | None, line: int | None) -> str:
    """Where a line came from: terminal, table, the upload's stamp and the line number."""
    at = f" Stamp={stamp}" if stamp else ""
    return f"SN={serial} {table}{at} line {line}"


def receive(
    store: Store,
    *,
    serial: str,
    token: str | None,
    table: str,
    stamp: str | None,
    body: str,
    now: datetime,
) -> UploadReceipt:
    """Store one ``POST /iclock/cdata`` upload; returns after the commit."""
    table = (table or "").strip().upper()
    stamp = stamp.strip()[:MAX_STAMP_CHARS] if stamp else None
    with store.sessions.begin() as session:
        device = terminal(session, store, serial=serial, token=token, now=now)
        seen(device, now)
        if table == "ATTLOG":
            receipt = _attlog(session, store, device, stamp, body, now)
        elif table == "OPERLOG":
            receipt = _operlog(session, store, device, stamp, body, now)
        else:
            # Photos and other tables are not punches; count them so nothing vanishes unseen.
            lines = sum(1 for line in body.splitlines() if line.strip())
            state = dict(device.sync_state or {})
            ignored = dict(state.get("ignored", {}))
            ignored[table or "?"] = int(ignored.get(table or "?", 0)) + lines
            state["ignored"] = ignored
            device.sync_state = state
            receipt = UploadReceipt(table=table, lines=lines, ignored=lines)
        if stamp is not None and table in {"ATTLOG", "OPERLOG", "ATTPHOTO"}:
            device.sync_state = {**(device.sync_state or {}), f"{table}Stamp": stamp}
        device.last_sync_at = now
    if receipt.quarantined:  # counted once committed
        BAD_INPUT.inc(receipt.quarantined, source=SourceKind.PUSH.value)
    return receipt


def _attlog(
    session: Session, store: Store, device: Device, stamp: str | None, body: str, now: datetime
) -> UploadReceipt:
    serial = device.serial or device.code
    # Per-line work is most of an upload: read the device's columns and enum members once.
    code, tz, push = device.code, device.timezone, SourceKind.PUSH
    mode = DirectionMode(device.direction_mode)
    where = reference(serial, "ATTLOG", stamp, None).removesuffix("None")
    items: list[RawPunch | QuarantineItem] = []
    for parsed in parse_attlog(body):
        if isinstance(parsed, BadRecord):
            items.append(
                QuarantineItem(
                    source_kind=push,
                    reason=parsed.reason,
                    raw=str(parsed.raw),
                    device_code=code,
                    reference=f"{where}{parsed.position}",
                )
            )
            continue
        items.append(_raw_punch(parsed, code, tz, mode, f"{where}{parsed.line}"))
    result = ingest(session.connection(), items, now=now, policy=store.policy)
    _advance_reported_until(device, items, result, store, now)
    return UploadReceipt(
        table="ATTLOG",
        lines=len(items),
        inserted=result.inserted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
    )


def _raw_punch(
    parsed: AttLine, code: str, tz: str | None, mode: DirectionMode, ref: str
) -> RawPunch:
    punch = parsed.punch
    return RawPunch(
        employee_code=punch.user_id,
        timestamp=punch.timestamp,
        source_kind=SourceKind.PUSH,
        tz=tz,
        device_code=code,
        verify=punch.verify,
        state=punch.state,
        direction_mode=mode,
        source_ref=ref,
        raw=str(punch.raw),
    )


def reparse(item: Quarantine) -> RawPunch | QuarantineItem:
    """Read a quarantined ATTLOG line again with today's parser (after a parser fix).

    The service registers this with `collector.quarantine.register_reparser`; the punch is
    built as the upload would have built it, with the terminal's current settings.
    """

    def still_bad(reason: str) -> QuarantineItem:
        return QuarantineItem(SourceKind.PUSH, reason, item.raw, item.device_code, item.reference)

    found = _ATTLOG_REF.search(item.reference or "")
    if found is None or "\n" in item.raw:
        return still_bad("only a single ATTLOG line can be read again as a punch")
    session = object_session(item)
    device = (
        session.scalar(select(Device).where(Device.code == item.device_code))
        if session is not None and item.device_code
        else None
    )
    if device is None:
        return still_bad(f"no push terminal {item.device_code!r} is declared any more")
    parsed = parse_attlog_line(int(found.group(1)), item.raw)
    if isinstance(parsed, BadRecord):
        return still_bad(parsed.reason)
    mode = DirectionMode(device.direction_mode)
    return _raw_punch(parsed, device.code, device.timezone, mode, item.reference or "")


def _advance_reported_until(
    device: Device,
    items: list[RawPunch | QuarantineItem],
    result: IngestResult,
    store: Store,
    now: datetime,
) -> None:
    # The latest punch time the terminal has delivered; a clock far in the future must not
    # close days early, so times beyond the future tolerance do not count. Local times sort
    # like UTC ones (but for the one repeated autumn hour), so only candidates are converted.
    limit = now + store.policy.future_tolerance
    try:
        tz = zone(device.timezone)
    except NormalizeError:
        return  # every line was quarantined for the zone already; nothing was delivered
    local = sorted(
        (
            item.timestamp
            for item, outcome in zip(items, result.outcomes, strict=True)
            if isinstance(item, RawPunch) and outcome is not Outcome.QUARANTINED
        ),
        reverse=True,
    )
    for candidate in local:
        when, _ = to_utc(candidate, tz)
        if when <= limit:
            if device.reported_until is None or when > device.reported_until:
                device.reported_until = when
            return


def _operlog(
    session: Session, store: Store, device: Device, stamp: str | None, body: str, now: datetime
) -> UploadReceipt:
    serial = device.serial or device.code
    bad: list[QuarantineItem] = []
    users: dict[str, UserLine] = {}
    templates: Counter[str] = Counter()
    ignored = 0
    for parsed in parse_operlog(body):
        if isinstance(parsed, BadRecord):
            bad.append(
                QuarantineItem(
                    source_kind=SourceKind.PUSH,
                    reason=parsed.reason,
                    raw=str(parsed.raw),
                    device_code=device.code,
                    reference=reference(serial, "OPERLOG", stamp, parsed.position),
                )
            )
        elif isinstance(parsed, UserLine):
            users[parsed.pin] = parsed
        elif isinstance(parsed, TemplateLine):
            templates[parsed.pin] += 1
        elif isinstance(parsed, OpLogLine):
            ignored += 1  # operations on the terminal's menu: not attendance
    if bad:
        ingest(session.connection(), bad, now=now, policy=store.policy)
    pins = set(users) | set(templates)
    existing = (
        {
            e.pin: e
            for e in session.scalars(
                select(PushRosterEntry).where(
                    PushRosterEntry.device_id == device.id, PushRosterEntry.pin.in_(pins)
                )
            )
        }
        if pins
        else {}
    )
    for pin in sorted(pins):
        entry = existing.get(pin) or PushRosterEntry(device_id=device.id, pin=pin)
        user = users.get(pin)
        if user is not None:
            entry.name, entry.privilege, entry.card = (
                user.name[:200],
                user.privilege,
                user.card[:64],
            )
            entry.grp, entry.has_password = user.group[:16], user.has_password
        # Re-sent uploads must not inflate the count: keep the most seen in one upload.
        entry.templates = max(entry.templates or 0, templates.get(pin, 0))
        entry.updated_at = now
        session.add(entry)
    session.flush()
    device.user_count = len(
        session.scalars(
            select(PushRosterEntry.id).where(PushRosterEntry.device_id == device.id)
        ).all()
    )
    return UploadReceipt(
        table="OPERLOG",
        lines=len(users) + sum(templates.values()) + ignored + len(bad),
        quarantined=len(bad),
        roster=len(pins),
        ignored=ignored,
    )
