"""The quarantine (listing, counts, reprocessing, dismissing) and the audit log (reading only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.auth import HrKey, Principal
from api.deps import BigRowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.punches import AuditPublic, QuarantinePublic, ReprocessRequest
from api.schemas.quarantine import (
    DismissedCount,
    DismissMatchingRequest,
    DismissRequest,
    QuarantineCounts,
    ReasonCount,
    SourceCount,
)
from collector import audit, quarantine
from collector.quarantine import QuarantineFilter
from collector.runtime import utcnow
from collector.store.models import Quarantine
from rules.vocabulary import SourceKind

router = APIRouter(tags=["quarantine"], responses=PROBLEM_RESPONSES)


def _filter(
    status: Annotated[str, Query(pattern="^(open|reprocessed|dismissed)$")] = "open",
    source_kind: SourceKind | None = None,
    reason: Annotated[str | None, Query(max_length=2000, description="exact reason")] = None,
    device_code: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="received at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="received before")] = None,
) -> QuarantineFilter:
    """The list's and the counts' filter from the query (times need an offset)."""
    return QuarantineFilter(
        status=status,
        reason=reason or None,
        source_kind=source_kind,
        device_code=device_code or None,
        since=since,
        until=until,
    )


FilterDep = Annotated[QuarantineFilter, Depends(_filter)]


def _unscoped(key: Principal) -> None:
    # Quarantined input has no trustworthy owner yet, so no department can claim it.
    key.scope.check_everyone("the quarantine")


def _public(item: Quarantine) -> QuarantinePublic:
    return QuarantinePublic(
        id=item.id,
        received_at=item.received_at,
        source_kind=item.source_kind,
        device_code=item.device_code,
        reference=item.reference,
        reason=item.reason,
        raw=item.raw,
        status=item.status,
        resolved_at=item.resolved_at,
        punch_id=item.punch_id,
        replayable=item.attempt is not None,
        note=item.note,
        input_count=item.input_count,
        raw_size=item.raw_size,
    )


@router.get("/quarantine")
def list_quarantine(
    key: HrKey,
    session: SessionDep,
    filters: FilterDep,
    after_id: BigRowId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinePublic]:
    """Quarantined items, oldest first, open ones unless `status` says; page with after_id."""
    _unscoped(key)
    rows = quarantine.list_items(session, filters=filters, after_id=after_id, limit=limit)
    return [_public(q) for q in rows]


@router.get("/quarantine/counts")
def count_quarantine(
    key: HrKey,
    session: SessionDep,
    filters: FilterDep,
) -> QuarantineCounts:
    """How many items match (open ones by default), by reason and by source kind and device."""
    _unscoped(key)
    found = quarantine.counts(session, filters=filters)
    return QuarantineCounts(
        total=found.total,
        inputs=found.inputs,
        last_id=found.last_id,
        by_reason=[ReasonCount(reason=r, count=n) for r, n in found.by_reason],
        by_source=[
            SourceCount(source_kind=k, device_code=d, count=n) for k, d, n in found.by_source
        ],
    )


@router.post("/quarantine/dismiss")
def dismiss_matching(key: HrKey, session: TxDep, body: DismissMatchingRequest) -> DismissedCount:
    """Dismiss every open item that matches (through_id: a count's last_id); audited."""
    _unscoped(key)
    done = quarantine.dismiss_matching(
        session,
        filters=body.match.to_filter(),
        reason=body.reason,
        actor=key.actor,
        now=utcnow(),
    )
    return DismissedCount(dismissed=done)


@router.post("/quarantine/{item_id}/dismiss")
def dismiss(
    item_id: BigRowId, key: HrKey, session: TxDep, body: DismissRequest
) -> QuarantinePublic:
    """Set an open item aside with a reason; it leaves the open list and is audited."""
    _unscoped(key)
    item = quarantine.dismiss(
        session, item_id=item_id, reason=body.reason, actor=key.actor, now=utcnow()
    )
    return _public(item)


@router.post("/quarantine/{item_id}/reprocess")
def reprocess(
    item_id: BigRowId,
    key: HrKey,
    session: TxDep,
    store: StoreDep,
    body: ReprocessRequest | None = None,
) -> QuarantinePublic:
    """Replay an item through ingest once its cause is fixed; 409 explains when it cannot."""
    _unscoped(key)
    overrides = body.model_dump(exclude_none=True) if body is not None else None
    item = quarantine.reprocess(
        session,
        item_id=item_id,
        actor=key.actor,
        now=utcnow(),
        policy=store.policy,
        overrides=overrides,
    )
    return _public(item)


@router.get("/audit")
def list_audit(
    key: HrKey,
    session: SessionDep,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    after_id: BigRowId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Audit entries in the order written; page with after_id."""
    _unscoped(key)
    rows = audit.entries(
        session, entity=entity, entity_id=entity_id, after_id=after_id, limit=limit
    )
    return [AuditPublic.model_validate(a) for a in rows]
