"""API keys: created (the token shown once), listed and revoked by admins."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import AdminKey
from api.deps import RowId, SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from collector import apikeys
from collector.audit import record
from collector.runtime import utcnow

router = APIRouter(prefix="/api-keys", tags=["access"], responses=PROBLEM_RESPONSES)


@router.get("")
def list_keys(_: AdminKey, session: SessionDep) -> list[ApiKeyPublic]:
    """Every key, revoked ones included."""
    return [ApiKeyPublic.model_validate(k) for k in apikeys.list_keys(session)]


@router.post("", status_code=201)
def create_key(body: ApiKeyCreate, key: AdminKey, session: TxDep) -> ApiKeyCreated:
    """Create a key; the response holds its token, which is never shown again."""
    now = utcnow()
    new = apikeys.create_key(
        session, name=body.name, role=body.role, now=now, department_code=body.department
    )
    record(
        session,
        actor=key.actor,
        action="apikey.create",
        entity="api_key",
        entity_id=new.key.id,
        now=now,
        details={"name": new.key.name, "role": new.key.role, "department": body.department},
    )
    public = ApiKeyPublic.model_validate(new.key)
    return ApiKeyCreated(token=new.token, **public.model_dump())


@router.post("/{key_id}/revoke")
def revoke_key(key_id: RowId, key: AdminKey, session: TxDep) -> ApiKeyPublic:
    """Revoke a key at once."""
    now = utcnow()
    revoked = apikeys.revoke_key(session, key_id=key_id, now=now)
    record(
        session,
        actor=key.actor,
        action="apikey.revoke",
        entity="api_key",
        entity_id=key_id,
        now=now,
    )
    return ApiKeyPublic.model_validate(revoked)
