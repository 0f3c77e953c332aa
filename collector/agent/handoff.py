"""Exactly-once handoff of an agent's batch: its punches and its id commit together.

The agent sends batches under an id it chose and keeps them until the centre answers with
that id. Here the id is claimed (`INSERT … ON CONFLICT DO NOTHING` on the primary key) in
the transaction that stores the batch through the one ingest, so either both commit or
neither does. A batch sent again — its answer lost, the agent killed, the centre restarted
— finds its id taken and is answered from the record without storing anything; a batch
re-formed under another id is still stored once, by the punches' own dedupe keys.

Each item is checked on its own: a punch that cannot be read, names a terminal that is not
this agent's, or claims another source goes to quarantine with the reason, as do the bad
records the agent itself could not read.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from collector.agent.enrolment import TOUCH_EVERY, AgentIdentity
from collector.agent.wire import Batch, BatchItem, BatchReceipt, WirePunch
from collector.errors import Conflict
from collector.metrics import BAD_INPUT, REGISTRY
from collector.normalize import RawPunch, raw_from_json
from collector.runtime import Store
from collector.store.ingest import QuarantineItem, ingest
from collector.store.models import Device, SiteAgent, SiteAgentBatch, SiteAgentTerminal
from rules.vocabulary import PunchFlag, SourceKind

AGENT_PUNCHES = REGISTRY.counter(
    "punchgate_agent_items_total",
    "Items site agents forwarded, by agent and outcome (inserted, duplicate, quarantined, "
    "repeated: in a batch committed before).",
    ("agent", "outcome"),
)
# Flags a terminal read can carry from the agent; the rest are decided here.
AGENT_FLAGS = int(PunchFlag.CLOCK_SKEW)


def receive_batch(
    store: Store, agent: AgentIdentity, batch: Batch, *, now: datetime
) -> BatchReceipt:
    """Store the batch once and answer with its id; a batch id seen before is answered as is."""
    with store.engine.begin() as conn:
        if not _claim(conn, agent, batch, now):
            return _repeated(conn, agent, batch)
        mine = set(
            conn.scalars(
                select(Device.code)
                .join(SiteAgentTerminal, SiteAgentTerminal.device_id == Device.id)
                .where(SiteAgentTerminal.agent_id == agent.id)
            )
        )
        items = [_item(entry, agent, mine) for entry in batch.items]
        result = ingest(conn, items, now=now, policy=store.policy)
        conn.execute(
            update(SiteAgentBatch)
            .where(SiteAgentBatch.batch_id == batch.batch_id)
            .values(
                inserted=result.inserted,
                duplicates=result.duplicates,
                quarantined=result.quarantined,
            )
        )
        if agent.last_contact_at is None or agent.last_contact_at <= now - TOUCH_EVERY:
            conn.execute(
                update(SiteAgent).where(SiteAgent.id == agent.id).values(last_contact_at=now)
            )
    for outcome, n in (
        ("inserted", result.inserted),
        ("duplicate", result.duplicates),
        ("quarantined", result.quarantined),
    ):
        if n:
            AGENT_PUNCHES.inc(n, agent=agent.code, outcome=outcome)
    if result.quarantined:
        BAD_INPUT.inc(result.quarantined, source=SourceKind.TERMINAL.value)
    return BatchReceipt(
        batch_id=batch.batch_id,
        repeated=False,
        items=len(items),
        inserted=result.inserted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
        committed_at=now,
    )


def _claim(conn: Connection, agent: AgentIdentity, batch: Batch, now: datetime) -> bool:
    """Take the batch id in this transaction; False when it was committed before."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    claimed = conn.execute(
        dialect.insert(SiteAgentBatch)
        .values(
            batch_id=batch.batch_id,
            agent_id=agent.id,
            committed_at=now,
            items=len(batch.items),
            inserted=0,
            duplicates=0,
            quarantined=0,
        )
        .on_conflict_do_nothing(index_elements=["batch_id"])
        # RETURNING, not rowcount: the PostgreSQL driver reports -1 for this statement.
        .returning(SiteAgentBatch.batch_id)
    )
    return claimed.first() is not None


def _repeated(conn: Connection, agent: AgentIdentity, batch: Batch) -> BatchReceipt:
    row = conn.execute(
        select(SiteAgentBatch).where(SiteAgentBatch.batch_id == batch.batch_id)
    ).one()
    if row.agent_id != agent.id:
        raise Conflict("this batch id was committed by another agent", field="batch_id")
    AGENT_PUNCHES.inc(len(batch.items), agent=agent.code, outcome="repeated")
    return BatchReceipt(
        batch_id=row.batch_id,
        repeated=True,
        items=row.items,
        inserted=row.inserted,
        duplicates=row.duplicates,
        quarantined=row.quarantined,
        committed_at=row.committed_at,
    )


def _item(entry: BatchItem, agent: AgentIdentity, mine: set[str]) -> RawPunch | QuarantineItem:
    """One forwarded item as ingest input: a checked punch, or quarantine with the reason."""
    via = f"site agent {agent.code}"
    if entry.bad is not None:
        bad = entry.bad
        return QuarantineItem(
            SourceKind.TERMINAL,
            reason=f"{bad.reason} ({via})",
            raw=bad.raw,
            device_code=bad.device_code if bad.device_code in mine else None,
            reference=bad.reference or via,
            origin=None if bad.device_code in mine else via,
        )
    data: Any = entry.punch
    try:
        if not isinstance(data, dict):
            raise ValueError("neither a punch nor a bad record")
        WirePunch.model_validate(data)  # the types, so the normaliser meets only what it expects
        raw = raw_from_json(data)
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        why = (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        return _refused(f"unreadable punch from {via}: {why}", data, None, via)
    if raw.device_code not in mine:
        # Kept replayable: a terminal moved away from the agent may leave punches in its
        # buffer, which HR can then reprocess from the quarantine.
        return _refused(
            f"{via} forwarded a punch of device {raw.device_code!r}, not one of its terminals",
            data,
            None,
            via,
            attempt=data,
        )
    if raw.source_kind is not SourceKind.TERMINAL or raw.voids_punch_id is not None:
        return _refused(f"{via} forwarded a punch that is not a terminal's", data, raw, via)
    if raw.flags & ~AGENT_FLAGS:
        return dataclasses.replace(raw, flags=raw.flags & AGENT_FLAGS)
    return raw


def _refused(
    reason: str,
    data: Any,
    raw: RawPunch | None,
    via: str,
    *,
    attempt: dict[str, Any] | None = None,
) -> QuarantineItem:
    device = raw.device_code if raw is not None else None
    return QuarantineItem(
        SourceKind.TERMINAL,
        reason=reason,
        raw=json.dumps(data, default=str),  # ingest keeps it within the quarantine's bound
        device_code=device,
        reference=via,
        attempt=attempt,
        origin=None if device else via,
    )
