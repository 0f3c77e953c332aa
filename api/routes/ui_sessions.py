"""Web page sessions: listed, ended one by one, or all at once (sign out everywhere) by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import AdminKey
from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.keys import SessionsEnded, SignOutEverywhere, UiSessionPublic
from collector import uisessions
from collector.audit import record
from collector.runtime import utcnow

router = APIRouter(prefix="/ui-sessions", tags=["access"], responses=PROBLEM_RESPONSES)


@router.get("")
def list_sessions(
    _: AdminKey,
    store: StoreDep,
    session: SessionDep,
    key_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[UiSessionPublic]:
    """The live sessions (of one key, or all), oldest first; never a session's id."""
    live = uisessions.list_live(
        session, now=utcnow(), limits=uisessions.Limits.of(store.settings), key_id=key_id
    )
    return [UiSessionPublic.model_validate(s) for s in live]


@router.post("/sign-out-everywhere")
def sign_out_everywhere(body: SignOutEverywhere, key: AdminKey, session: TxDep) -> SessionsEnded:
    """End every session of one key, or every session of every key; they end at once."""
    now = utcnow()
    ended = uisessions.end_all(session, key_id=body.key_id)
    record(
        session,
        actor=key.actor,
        action="ui_session.end_all",
        entity="api_key" if body.key_id is not None else "ui_session",
        entity_id=body.key_id,
        now=now,
        details={"ended": ended},
    )
    return SessionsEnded(ended=ended)


@router.delete("/{session_id}", status_code=204)
def end_session(session_id: RowId, key: AdminKey, session: TxDep) -> Response:
    """End one session (its number as listed)."""
    now = utcnow()
    ended = uisessions.end_one(session, row_id=session_id)
    record(
        session,
        actor=key.actor,
        action="ui_session.end",
        entity="ui_session",
        entity_id=session_id,
        now=now,
        details={"key_id": ended.key_id},
    )
    return Response(status_code=204)
