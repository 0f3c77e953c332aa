"""ERPNext Shift Types' `last_sync_of_checkin`, moved only once every checkin up to it is there.

ERPNext's auto attendance marks a shift's days only up to its Shift Type's
`last_sync_of_checkin`; set too early, people whose terminal has not been read yet are
marked absent. A target therefore names, per shift type, the terminals that feed it
(`config.shift_types`: `{"Day Shift": ["ZK-1", "ZK-2"]}`; an empty list means every
enabled terminal), and the shift type's mark is the earliest of
- each of those terminals' `reported_until` (how far punchgate has read it), and
- one second before the earliest punch this target still has to deliver.
A named terminal that is unknown, disabled or never read holds the mark back; the mark
only moves forward (a PUT is sent when it advanced, and again after a restart: harmless).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collector.days.context import FED_BY
from collector.outbound.erpnext import frappe_message
from collector.outbound.events import EventType
from collector.outbound.http import HttpClient, HttpError
from collector.outbound.targets import TargetInfo
from collector.store.models import Device, OutboxMessage, Punch

log = logging.getLogger(__name__)
DOCTYPE = "Shift Type"


def shift_types(config: dict[str, Any]) -> dict[str, list[str]]:
    """The target's shift types and the terminal codes feeding each (validated shape)."""
    raw = config.get("shift_types") or {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
        for k, v in raw.items()
    ):
        raise ValueError(
            'shift_types must map a Shift Type name to terminal codes: {"Day": ["ZK-1"]}'
        )
    return {k: list(v) for k, v in raw.items()}


def sync_mark(session: Session, target_id: int, codes: Iterable[str]) -> datetime | None:
    """How far every checkin of those terminals (all when empty) is in ERPNext; None: not yet."""
    wanted = set(codes)
    query = select(Device.code, Device.reported_until).where(
        Device.enabled.is_(True), Device.kind.in_(FED_BY)
    )
    if wanted:
        query = query.where(Device.code.in_(wanted))
    rows = session.execute(query).all()
    if not rows or (wanted and {code for code, _ in rows} != wanted):
        return None
    read = [until for _, until in rows if until is not None]
    if len(read) < len(rows):
        return None
    mark = min(read)
    first_due = session.scalar(
        select(func.min(Punch.occurred_at))
        .join(OutboxMessage, OutboxMessage.ref_id == Punch.id)
        .where(
            OutboxMessage.target_id == target_id,
            OutboxMessage.status == "pending",
            OutboxMessage.event_type == EventType.PUNCH_CREATED.value,
        )
    )
    if first_due is not None:
        mark = min(mark, first_due - timedelta(seconds=1))
    return mark


class ShiftSync:
    """Sends each ERPNext target's shift marks when they advance (one per worker)."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.sent: dict[tuple[int, str], datetime] = {}

    def run(self, engine: Engine, targets: Iterable[TargetInfo]) -> int:
        """One round over every ERPNext target that names shift types; how many PUTs succeeded."""
        done = 0
        for target in targets:
            if target.kind != "erpnext" or not target.config.get("shift_types"):
                continue
            try:
                shifts = shift_types(target.config)
            except ValueError as exc:
                log.error("ERPNext target %s: %s", target.name, exc)
                continue
            with Session(engine) as session:
                marks = {
                    name: sync_mark(session, target.id, codes) for name, codes in shifts.items()
                }
            for name, mark in marks.items():
                last = self.sent.get((target.id, name))
                if mark is None or (last is not None and mark <= last):
                    continue
                if self._put(target, name, mark):
                    self.sent[(target.id, name)] = mark
                    done += 1
        return done

    def _put(self, target: TargetInfo, name: str, mark: datetime) -> bool:
        if not target.credentials:
            return False
        local = mark.astimezone(ZoneInfo(target.config.get("timezone", "UTC")))
        body = json.dumps({"last_sync_of_checkin": local.strftime("%Y-%m-%d %H:%M:%S")})
        url = f"{target.url.rstrip('/')}/api/resource/{quote(DOCTYPE)}/{quote(name, safe='')}"
        try:
            answer = self.client.request(
                "PUT",
                url,
                body.encode(),
                {
                    "Authorization": f"token {target.credentials[0]}",
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
            )
        except HttpError as exc:
            log.warning("ERPNext %s: Shift Type %r not updated: %s", target.name, name, exc)
            return False
        if 200 <= answer.status < 300:
            return True
        log.warning(
            "ERPNext %s: Shift Type %r not updated (%s): %s",
            target.name,
            name,
            answer.status,
            frappe_message(answer),
        )
        return False
