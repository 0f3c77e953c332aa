"""The quarantine (listing, reprocessing) and the append-only audit log (reading only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import HrKey, Principal
from api.deps import BigRowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.punches import AuditPublic, QuarantinePublic, ReprocessRequest
from collector import audit, quarantine
from collector.runtime import utcnow
from collector.store.models import Quarantine
from rules.vocabulary import SourceKind

router = APIRouter(tags=["quarantine"], responses=PROBLEM_RESPONSES)


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
    )


@router.get("/quarantine")
def list_quarantine(
    key: HrKey,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|reprocessed)$")] = "open",
    source_kind: SourceKind | None = None,
    after_id: BigRowId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinePublic]:
    """Quarantined items, oldest first; page with after_id."""
    _unscoped(key)
    rows = quarantine.list_items(
        session, status=status, source_kind=source_kind, after_id=after_id, limit=limit
    )
    return [_public(q) for q in rows]


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
