"""Reprocessing a quarantined item once the cause of its refusal has been fixed.

An item can be replayed when it kept the raw punch that failed normalisation (unknown
zone, unreadable state, bad coordinates…): the punch goes through the normal ingest path
again, with the device's *current* zone and any fields HR supplies. Items a parser
refused (undecodable bytes, a malformed line) can be replayed only by a re-parser that
the source registered with `register_reparser`; an import line is resolved by importing
its file again (the import is idempotent), after which reprocessing finds its punch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.audit import record
from collector.errors import Conflict, InvalidInput
from collector.normalize import NormalizePolicy, RawPunch, normalize, raw_from_json
from collector.quarantine.listing import open_item
from collector.store.ingest import Outcome, QuarantineItem, ingest
from collector.store.models import Device, Punch, Quarantine
from rules.vocabulary import SourceKind

Reparser = Callable[[Quarantine], RawPunch | QuarantineItem]
_REPARSERS: dict[SourceKind, Reparser] = {}
OVERRIDABLE = frozenset({"employee_code", "timestamp", "tz", "state", "verify", "device_code"})


def register_reparser(kind: SourceKind, reparser: Reparser) -> None:
    """Let a source replay its own raw text (e.g. a push terminal's ATTLOG line)."""
    _REPARSERS[kind] = reparser


def reprocess(
    session: Session,
    *,
    item_id: int,
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
    overrides: dict[str, Any] | None = None,
) -> Quarantine:
    """Replay an item through ingest; on success it is marked reprocessed with its punch."""
    item = open_item(session, item_id)
    punch_id = _reimported(session, item) if not overrides else None
    if punch_id is None:
        raw = _replayable(session, item, overrides or {})
        if isinstance(raw, QuarantineItem):
            raise Conflict(f"still not a punch: {raw.reason}")
        result = ingest(session.connection(), [raw], now=now, policy=policy)
        if result.outcomes[0] is Outcome.QUARANTINED:
            # The new quarantine row would only repeat this one: undo it, keep the item open.
            raise Conflict(f"still not a punch: {result.reasons[0]}")
        punch_id = _punch_id_of(session, raw, now=now, policy=policy)
    item.status = "reprocessed"
    item.resolved_at = now
    item.punch_id = punch_id
    record(
        session,
        actor=actor,
        action="quarantine.reprocess",
        entity="quarantine",
        entity_id=item.id,
        now=now,
        details={"punch_id": punch_id, "overrides": _jsonable(overrides or {})},
    )
    return item


def _reimported(session: Session, item: Quarantine) -> int | None:
    # An import line is named "<file>:<line>", the same source_ref its punch gets.
    if item.source_kind != SourceKind.IMPORT.value or not item.reference:
        return None
    found = session.scalar(
        select(Punch.id).where(
            Punch.source_kind == SourceKind.IMPORT.value, Punch.source_ref == item.reference
        )
    )
    return None if found is None else int(found)


def _replayable(
    session: Session, item: Quarantine, overrides: dict[str, Any]
) -> RawPunch | QuarantineItem:
    unknown = set(overrides) - OVERRIDABLE
    if unknown:
        raise InvalidInput(f"cannot override {', '.join(sorted(unknown))}", field="overrides")
    if item.attempt is not None:
        try:
            raw = raw_from_json(item.attempt)
        except (KeyError, TypeError, ValueError) as exc:
            raise Conflict(f"the stored punch cannot be read back: {exc}") from exc
    else:
        reparser = _REPARSERS.get(SourceKind(item.source_kind))
        if reparser is None:
            raise Conflict(_why_not(item))
        raw_or_bad = reparser(item)
        if isinstance(raw_or_bad, QuarantineItem):
            return raw_or_bad
        raw = raw_or_bad
    if "tz" not in overrides and raw.device_code and raw.timestamp.tzinfo is None:
        device = session.scalar(select(Device).where(Device.code == raw.device_code))
        if device is not None and device.timezone:
            raw = dataclasses.replace(raw, tz=device.timezone)  # the fixed device zone
    return dataclasses.replace(raw, **overrides) if overrides else raw


def _why_not(item: Quarantine) -> str:
    if item.source_kind == SourceKind.IMPORT.value:
        return (
            "an import line cannot be re-read without its file's header: fix the file "
            "and import it again (it is idempotent), then reprocess to mark this item"
        )
    return (
        f"a {item.source_kind} item refused by its parser keeps only raw text, and no "
        "re-parser is registered for that source; resend it from the device instead"
    )


def _punch_id_of(session: Session, raw: RawPunch, *, now: datetime, policy: NormalizePolicy) -> int:
    key = normalize(raw, now=now, policy=policy)["dedupe_key"]
    return int(session.scalar(select(Punch.id).where(Punch.dedupe_key == key)) or 0)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
