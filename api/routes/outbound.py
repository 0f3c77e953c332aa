"""Outbound targets (webhooks, ERP connectors), their delivery log and replay: admins only."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Annotated, Literal

from annotated_types import Interval
from fastapi import APIRouter, Query

from api.auth import AdminKey
from api.deps import BigRowId, RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.outbound import (
    AttemptPublic,
    EmployeeError,
    MessagePublic,
    Replayed,
    SecretRotated,
    TargetCreate,
    TargetCreated,
    TargetPublic,
    TargetUpdate,
)
from collector.audit import record
from collector.errors import Conflict, InvalidInput
from collector.outbound import log, targets
from collector.runtime import utcnow

router = APIRouter(prefix="/outbound", tags=["outbound"], responses=PROBLEM_RESPONSES)
ROTATION_OVERLAP_S = 24 * 3600  # receivers have a day to take the new secret
Status = Literal["pending", "delivered", "failed", "rejected", "skipped"]


@router.get("/targets")
def list_targets(_: AdminKey, session: SessionDep) -> list[TargetPublic]:
    """Every webhook endpoint and connector."""
    return [TargetPublic.model_validate(t) for t in targets.list_targets(session)]


@router.post("/targets", status_code=201)
def create_target(
    body: TargetCreate, key: AdminKey, session: TxDep, store: StoreDep
) -> TargetCreated:
    """Add a target; a webhook's signing secret is in the response, never shown again."""
    if body.kind == "webhook" and body.secret is not None and not _is_whsec(body.secret):
        raise InvalidInput("a webhook secret is whsec_ and base64", field="secret")
    if body.kind == "erpnext" and (body.secret is None or ":" not in body.secret):
        raise InvalidInput("ERPNext needs the credential as api_key:api_secret", field="secret")
    if body.kind == "odoo" and body.secret is None:
        raise InvalidInput("Odoo needs its API key (or password) as secret", field="secret")
    jsonrpc = body.kind == "odoo" and body.config.get("protocol") == "jsonrpc"
    if jsonrpc and not (body.config.get("database") and body.config.get("login")):
        raise InvalidInput("JSON-RPC needs config.database and config.login", field="config")
    if targets.find_target(session, body.name) is not None:
        raise Conflict(f"a target named {body.name!r} exists")
    now = utcnow()
    target, secret = targets.create_target(
        session,
        name=body.name,
        kind=body.kind,
        url=body.url,
        events=body.events,
        config=dict(body.config),
        secret=body.secret,
        box=store.box,
        now=now,
    )
    record(
        session,
        actor=key.actor,
        action="outbound.create",
        entity="outbound_target",
        entity_id=target.id,
        now=now,
        details={"name": target.name, "kind": target.kind, "events": target.events},
    )
    return TargetCreated(secret=secret, **TargetPublic.model_validate(target).model_dump())


@router.patch("/targets/{target_id}")
def update_target(
    target_id: RowId, body: TargetUpdate, key: AdminKey, session: TxDep, store: StoreDep
) -> TargetPublic:
    """Change a target (re-enabling one that answered 410 resumes its pending messages)."""
    changes = body.model_dump(exclude_unset=True)
    secret = changes.pop("secret", None)
    target = targets.update_target(session, target_id, **changes)
    if secret is not None:
        if target.kind == "webhook":
            raise InvalidInput("rotate a webhook's secret with rotate-secret", field="secret")
        targets.set_credential(session, target_id, secret=secret, box=store.box)
    record(
        session,
        actor=key.actor,
        action="outbound.update",
        entity="outbound_target",
        entity_id=target_id,
        now=utcnow(),
        details={
            **{k: v for k, v in changes.items() if k != "config"},
            "secret": secret is not None,
        },
    )
    return TargetPublic.model_validate(target)


@router.post("/targets/{target_id}/rotate-secret")
def rotate_secret(
    target_id: RowId, key: AdminKey, session: TxDep, store: StoreDep
) -> SecretRotated:
    """A new signing secret; for a day both sign every message (webhook-signature lists both)."""
    now = utcnow()
    if targets.get_target(session, target_id).kind != "webhook":
        raise InvalidInput("only webhooks sign; set a connector's credential with PATCH")
    secret = targets.rotate_secret(
        session, target_id, box=store.box, now=now, overlap_s=ROTATION_OVERLAP_S
    )
    record(
        session,
        actor=key.actor,
        action="outbound.rotate_secret",
        entity="outbound_target",
        entity_id=target_id,
        now=now,
    )
    return SecretRotated(secret=secret, overlap_until=now + timedelta(seconds=ROTATION_OVERLAP_S))


@router.get("/targets/{target_id}/messages")
def list_messages(
    target_id: RowId,
    _: AdminKey,
    session: SessionDep,
    status: Status | None = None,
    before_id: Annotated[BigRowId | None, Query()] = None,
    limit: Annotated[int, Interval(ge=1, le=1000)] = 100,
) -> list[MessagePublic]:
    """The delivery log of a target, newest first; page with `before_id`."""
    rows = log.messages(session, target_id, status=status, before_id=before_id, limit=limit)
    return [MessagePublic.model_validate(m) for m in rows]


@router.get("/targets/{target_id}/errors")
def employee_errors(target_id: RowId, _: AdminKey, session: SessionDep) -> list[EmployeeError]:
    """What the target refused, per employee: fix it there (create, activate), then replay."""
    return [EmployeeError(**e) for e in log.employee_errors(session, target_id)]


@router.post("/targets/{target_id}/replay")
def replay_target(
    target_id: RowId,
    key: AdminKey,
    session: TxDep,
    status: Literal["failed", "rejected"] = "failed",
) -> Replayed:
    """Queue every failed (or rejected) message of a target again, with its webhook-id."""
    now = utcnow()
    count = log.replay_target(session, target_id, status=status, now=now)
    record(
        session,
        actor=key.actor,
        action="outbound.replay",
        entity="outbound_target",
        entity_id=target_id,
        now=now,
        details={"status": status, "messages": count},
    )
    return Replayed(replayed=count)


@router.get("/messages/{message_id}/attempts")
def list_attempts(message_id: BigRowId, _: AdminKey, session: SessionDep) -> list[AttemptPublic]:
    """Every attempt at one message: when, the answer's status, the error."""
    return [AttemptPublic.model_validate(a) for a in log.attempts(session, message_id)]


@router.post("/messages/{message_id}/replay")
def replay_message(message_id: BigRowId, key: AdminKey, session: TxDep) -> MessagePublic:
    """Send one message again now, whatever became of it (same webhook-id)."""
    now = utcnow()
    msg = log.replay_message(session, message_id, now=now)
    record(
        session,
        actor=key.actor,
        action="outbound.replay",
        entity="outbox",
        entity_id=message_id,
        now=now,
    )
    return MessagePublic.model_validate(msg)


def _is_whsec(secret: str) -> bool:
    if not secret.startswith(targets.SECRET_PREFIX):
        return False
    try:
        return len(base64.b64decode(secret[len(targets.SECRET_PREFIX) :], validate=True)) >= 16
    except (binascii.Error, ValueError):
        return False
