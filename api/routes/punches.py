"""Reading punches."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import SessionDep
from collector.store.models import Punch
from rules.vocabulary import PunchFlag

router = APIRouter(prefix="/punches", tags=["punches"])


class PunchPublic(BaseModel):
    """A punch as the API shows it."""

    id: int
    employee_code: str
    employee_id: int | None
    occurred_at: datetime
    tz: str
    source_kind: str
    device_code: str | None
    verify: str
    state: str
    flags: list[str]


@router.get("")
def list_punches(
    session: SessionDep,
    employee_code: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[PunchPublic]:
    """The most recent punches, newest first."""
    query = select(Punch).order_by(Punch.occurred_at.desc(), Punch.id.desc()).limit(limit)
    if employee_code:
        query = query.where(Punch.employee_code == employee_code)
    return [
        PunchPublic(
            id=p.id,
            employee_code=p.employee_code,
            employee_id=p.employee_id,
            occurred_at=p.occurred_at,
            tz=p.tz,
            source_kind=p.source_kind,
            device_code=p.device_code,
            verify=p.verify,
            state=p.state,
            flags=PunchFlag.names_of(p.flags),
        )
        for p in session.scalars(query)
    ]
