"""HR's corrections: add a missing punch or void a wrong one, through the one ingest path.

Both are punches of source ``manual``; nothing is edited in place. The audit entry is
written in the same transaction as the punch, and ingest marks the day for recomputation.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.audit import record
from collector.errors import Conflict, InvalidInput, NotFound
from collector.masterdata.scope import Scope
from collector.normalize import NormalizePolicy, RawPunch, normalize
from collector.store.ingest import Outcome, ingest
from collector.store.models import Punch, Site
from rules.vocabulary import PunchState, SourceKind, VerifyMethod


def add_punch(
    session: Session,
    *,
    employee_id: int,
    timestamp: datetime,
    state: PunchState,
    reason: str,
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
    scope: Scope,
    idempotency_key: str | None = None,
) -> tuple[Punch, bool]:
    """Add a punch HR vouches for; a naive time is local to the employee's site."""
    if state is PunchState.VOID:
        raise InvalidInput("use a void correction to cancel a punch", field="state")
    emp = scope.employee(session, employee_id, field="employee_id")
    if emp.deleted_at is not None:
        # A deleted employee takes no corrections; answered as for one that never existed.
        raise NotFound(f"no employee {employee_id}", field="employee_id")
    tz = policy.default_timezone
    if emp.site_id is not None:
        site = session.get(Site, emp.site_id)
        tz = site.timezone if site is not None else tz
    raw = RawPunch(
        employee_code=emp.code,
        timestamp=timestamp,
        source_kind=SourceKind.MANUAL,
        tz=tz,
        verify=VerifyMethod.MANUAL,
        state=state,
        source_ref=idempotency_key or str(uuid.uuid4()),
        note=_reason(reason),
    )
    punch, created = _ingest_one(session, raw, now=now, policy=policy)
    if created:
        if punch.occurred_at > now + policy.future_tolerance:
            raise InvalidInput("a correction cannot be in the future", field="timestamp")
        record(
            session,
            actor=actor,
            action="punch.add",
            entity="punch",
            entity_id=punch.id,
            now=now,
            reason=raw.note,
            details={
                "employee_code": emp.code,
                "occurred_at": punch.occurred_at.isoformat(),
                "state": punch.state,
                "source_ref": punch.source_ref,
            },
        )
    return punch, created


def void_punch(
    session: Session,
    *,
    punch_id: int,
    reason: str,
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
    scope: Scope,
    idempotency_key: str | None = None,
) -> tuple[Punch, bool]:
    """Cancel a punch by adding a void punch that names it; the original stays as it was."""
    target = scope.punch(session, punch_id)
    if target.state == PunchState.VOID.value:
        raise Conflict("a void cannot itself be voided; add the punch again instead")
    ref = idempotency_key or str(uuid.uuid4())
    already = session.scalar(
        select(Punch).where(Punch.voids_punch_id == punch_id, Punch.source_ref != ref)
    )
    if already is not None:
        raise Conflict(f"punch {punch_id} is already voided by punch {already.id}")
    raw = RawPunch(
        employee_code=target.employee_code,
        timestamp=target.occurred_at,
        source_kind=SourceKind.MANUAL,
        tz=target.tz,
        verify=VerifyMethod.MANUAL,
        state=PunchState.VOID,
        source_ref=ref,
        voids_punch_id=punch_id,
        note=_reason(reason),
    )
    punch, created = _ingest_one(session, raw, now=now, policy=policy)
    if punch.voids_punch_id != punch_id:
        raise Conflict("this idempotency key was already used for another correction")
    if created:
        record(
            session,
            actor=actor,
            action="punch.void",
            entity="punch",
            entity_id=punch.id,
            now=now,
            reason=raw.note,
            details={"voids_punch_id": punch_id, "employee_code": target.employee_code},
        )
    return punch, created


def _ingest_one(
    session: Session, raw: RawPunch, *, now: datetime, policy: NormalizePolicy
) -> tuple[Punch, bool]:
    result = ingest(session.connection(), [raw], now=now, policy=policy)
    if result.outcomes[0] is Outcome.QUARANTINED:
        raise InvalidInput(result.reasons.get(0, "the punch was refused"))
    key = normalize(raw, now=now, policy=policy)["dedupe_key"]
    punch = session.scalar(select(Punch).where(Punch.dedupe_key == key))
    if punch is None:  # pragma: no cover - ingest just stored or found it
        raise Conflict("the correction could not be read back")
    return punch, result.outcomes[0] is Outcome.INSERTED


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput("a correction needs a reason", field="reason")
    return text
