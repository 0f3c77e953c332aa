"""The command queue for push terminals: queue (for HR), hand out (getrequest), record results.

Kinds and what the terminal receives:

- ``sync_roster``: one ``DATA UPDATE USERINFO`` per active employee (and, with ``prune``,
  ``DATA DELETE USERINFO`` for people on the terminal who are no longer employees);
- ``set_clock``: ``SET OPTION DateTime=…`` rendered when handed out, in the device's zone;
- ``reboot``: ``REBOOT``; ``info``: ``INFO``;
- ``clear_log``: ``CLEAR LOG``, only after a confirmed full upload — refused when queued
  unless the store holds at least as many records from the terminal (since its last clear)
  as the terminal says it has, and held back at hand-out time until the same holds for the
  count the terminal reports in that very poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from collector.normalize import zone
from collector.push.terminals import PUSH_KIND, expire_silent, note_info, seen, terminal
from collector.push.uploads import reference
from collector.runtime import Store
from collector.store.ingest import QuarantineItem, ingest
from collector.store.models import Device, Employee, Punch, PushCommand, PushRosterEntry, Quarantine
from devices.types import BadRecord
from devices.zk.push.records import parse_command_results
from devices.zk.push.wire import (
    CLEAR_LOG_COMMAND,
    INFO_COMMAND,
    REBOOT_COMMAND,
    command_line,
    delete_user_command,
    set_clock_command,
    update_user_command,
)
from rules.vocabulary import SourceKind

KINDS = ("sync_roster", "set_clock", "reboot", "clear_log", "info")
MAX_PER_POLL = 50  # commands handed out per getrequest; the rest wait for the next poll
MAX_ATTEMPTS = 5  # hand-outs without an answer before a command is given up as failed
SET_CLOCK_PLACEHOLDER = "SET OPTION DateTime=<now>"


class CommandError(ValueError):
    """A command cannot be queued (unknown device or kind); the message says why."""


class CommandRefused(CommandError):
    """The command is not safe now (clear_log before a confirmed full upload)."""


@dataclass(frozen=True, slots=True)
class CommandView:
    """A queued command as HR sees it."""

    id: int
    device_code: str
    kind: str
    command: str
    status: str
    requested_by: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    done_at: datetime | None
    return_code: int | None
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """Whether the store has everything the terminal holds."""

    confirmed: bool
    stored: int
    reported: int | None


def upload_check(session: Session, device: Device, reported: int | None = None) -> UploadCheck:
    """Compare the terminal's record count with what the store holds from it since its clear."""
    reported = reported if reported is not None else device.record_count
    cleared = (device.sync_state or {}).get("cleared_at")
    punches = select(func.count()).select_from(Punch).where(Punch.device_code == device.code)
    bad = (
        select(func.count())
        .select_from(Quarantine)
        .where(Quarantine.device_code == device.code, Quarantine.reference.like("% ATTLOG%"))
    )
    if cleared:
        since = datetime.fromisoformat(cleared)
        punches = punches.where(Punch.received_at >= since)
        bad = bad.where(Quarantine.received_at >= since)
    stored = int(session.scalar(punches) or 0) + int(session.scalar(bad) or 0)
    return UploadCheck(reported is not None and stored >= reported, stored, reported)


def queue_command(
    session: Session,
    *,
    device_code: str,
    kind: str,
    requested_by: str,
    now: datetime,
    prune: bool = False,
) -> list[CommandView]:
    """Queue a command for a push terminal; returns the wire commands created."""
    if kind not in KINDS:
        raise CommandError(f"unknown command {kind!r}; one of {', '.join(KINDS)}")
    device = session.scalar(select(Device).where(Device.code == device_code))
    if device is None or device.kind != PUSH_KIND:
        raise CommandError(f"no push terminal {device_code!r}")
    texts: list[str]
    if kind == "sync_roster":
        employees = session.scalars(
            select(Employee).where(Employee.deleted_at.is_(None)).order_by(Employee.code)
        ).all()
        texts = [update_user_command(e.code, e.name) for e in employees]
        if prune:
            codes = {e.code for e in employees}
            on_terminal = session.scalars(
                select(PushRosterEntry.pin).where(PushRosterEntry.device_id == device.id)
            )
            texts += [delete_user_command(pin) for pin in on_terminal if pin not in codes]
    elif kind == "set_clock":
        texts = [SET_CLOCK_PLACEHOLDER]
    elif kind == "reboot":
        texts = [REBOOT_COMMAND]
    elif kind == "info":
        texts = [INFO_COMMAND]
    else:
        check = upload_check(session, device)
        if not check.confirmed:
            raise CommandRefused(
                f"clear_log refused: the terminal reports {check.reported} records and the "
                f"store holds {check.stored} from it; wait for a full upload"
            )
        texts = [CLEAR_LOG_COMMAND]
    rows = [
        PushCommand(
            device_id=device.id,
            kind=kind,
            command=text,
            status="queued",
            requested_by=requested_by[:200],
            created_at=now,
            attempts=0,
            result={},
        )
        for text in texts
    ]
    session.add_all(rows)
    session.flush()
    return [_view(row, device.code) for row in rows]


def list_commands(
    session: Session,
    *,
    device_code: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[CommandView]:
    """Commands, newest first, optionally for one device or in one status."""
    query = (
        select(PushCommand, Device.code)
        .join(Device, Device.id == PushCommand.device_id)
        .order_by(PushCommand.id.desc())
        .limit(limit)
    )
    if device_code:
        query = query.where(Device.code == device_code)
    if status:
        query = query.where(PushCommand.status == status)
    return [_view(row, code) for row, code in session.execute(query).all()]


def get_command(session: Session, *, command_id: int) -> CommandView | None:
    """One command by id, or None."""
    found = session.execute(
        select(PushCommand, Device.code)
        .join(Device, Device.id == PushCommand.device_id)
        .where(PushCommand.id == command_id)
    ).first()
    return _view(found[0], found[1]) if found else None


@dataclass(frozen=True, slots=True)
class RosterView:
    """One person enrolled on a push terminal, as the terminal reported it."""

    pin: str
    name: str
    privilege: int
    card: str
    templates: int
    updated_at: datetime


def list_roster(session: Session, *, device_code: str) -> list[RosterView]:
    """The people a push terminal has reported enrolled (from its OPERLOG uploads)."""
    rows = session.scalars(
        select(PushRosterEntry)
        .join(Device, Device.id == PushRosterEntry.device_id)
        .where(Device.code == device_code)
        .order_by(PushRosterEntry.pin)
    )
    return [RosterView(r.pin, r.name, r.privilege, r.card, r.templates, r.updated_at) for r in rows]


def hand_out(
    store: Store, *, serial: str, token: str | None, info: str | None, now: datetime
) -> list[str]:
    """``GET /iclock/getrequest``: the heartbeat; returns the ``C:<id>:…`` lines to send."""
    resend = timedelta(seconds=store.settings.push_command_resend_s)
    with store.sessions.begin() as session:
        device = terminal(session, store, serial=serial, token=token, now=now)
        seen(device, now)
        reported = note_info(device, info)
        session.flush()  # this terminal is fresh before the others are checked
        # Polls are the heartbeat: each one also notices terminals that stopped polling.
        expire_silent(session, now=now, after_s=store.settings.push_offline_after_s)
        due = session.scalars(
            select(PushCommand)
            .where(
                PushCommand.device_id == device.id,
                or_(
                    PushCommand.status == "queued",
                    (PushCommand.status == "sent") & (PushCommand.sent_at < now - resend),
                ),
            )
            .order_by(PushCommand.id)
            .limit(MAX_PER_POLL)
        ).all()
        lines: list[str] = []
        for cmd in due:
            if cmd.attempts >= MAX_ATTEMPTS:
                cmd.status, cmd.done_at = "failed", now
                cmd.result = {"error": f"no answer after {cmd.attempts} hand-outs"}
                continue
            if cmd.kind == "clear_log" and not upload_check(session, device, reported).confirmed:
                continue  # held back: the terminal has records the store does not
            text = cmd.command
            if cmd.kind == "set_clock":
                text = set_clock_command(now.astimezone(zone(device.timezone)))
            cmd.status, cmd.sent_at, cmd.attempts = "sent", now, cmd.attempts + 1
            lines.append(command_line(cmd.id, text))
        return lines


def record_results(
    store: Store, *, serial: str, token: str | None, body: str, now: datetime
) -> int:
    """``POST /iclock/devicecmd``: store the terminal's answers; returns how many matched."""
    with store.sessions.begin() as session:
        device = terminal(session, store, serial=serial, token=token, now=now)
        seen(device, now)
        matched = 0
        bad: list[QuarantineItem] = []
        for result in parse_command_results(body):
            if isinstance(result, BadRecord):
                bad.append(_garbage(device, result.reason, str(result.raw), result.position))
                continue
            cmd = session.get(PushCommand, result.command_id)
            if cmd is None or cmd.device_id != device.id:
                bad.append(_garbage(device, "result for an unknown command", result.raw, None))
                continue
            matched += 1
            if cmd.status in {"done", "failed"}:
                continue  # a re-sent answer
            cmd.return_code = result.return_code
            cmd.status = "done" if result.return_code >= 0 else "failed"
            cmd.done_at = now
            cmd.result = {"cmd": result.cmd, **result.content}
            if cmd.kind == "clear_log" and cmd.status == "done":
                device.sync_state = {**(device.sync_state or {}), "cleared_at": now.isoformat()}
                device.record_count = 0
        if bad:
            ingest(session.connection(), bad, now=now, policy=store.policy)
        return matched


def _garbage(device: Device, reason: str, raw: str, line: int | None) -> QuarantineItem:
    return QuarantineItem(
        source_kind=SourceKind.PUSH,
        reason=reason,
        raw=raw,
        device_code=device.code,
        reference=reference(device.serial or device.code, "devicecmd", None, line),
    )


def _view(row: PushCommand, device_code: str) -> CommandView:
    return CommandView(
        id=row.id,
        device_code=device_code,
        kind=row.kind,
        command=row.command,
        status=row.status,
        requested_by=row.requested_by,
        created_at=row.created_at,
        sent_at=row.sent_at,
        attempts=row.attempts,
        done_at=row.done_at,
        return_code=row.return_code,
        result=dict(row.result or {}),
    )
