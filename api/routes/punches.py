"""Punches: a filtered, cursor-paginated list, and HR's corrections (add, void)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import HrKey, ViewerKey
from api.deps import InstantOrDay, RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.punches import (
    CorrectionAdd,
    CorrectionVoid,
    PunchPage,
    PunchPublic,
    page_columns,
    page_json,
)
from collector import corrections
from collector.errors import InvalidInput
from collector.masterdata.org import usual_zone
from collector.punchlist import PunchFilter, bound, list_punches
from collector.runtime import utcnow
from rules.vocabulary import PunchFlag, SourceKind

router = APIRouter(tags=["punches"], responses=PROBLEM_RESPONSES)
SINCE = (
    "From this instant on (inclusive). An instant needs its UTC offset "
    "(2026-11-25T08:00:00+01:00 or 2026-11-25T07:00:00Z); a bare date (2026-11-25) "
    "means that day's start in the site's time zone. A time without offset is refused."
)
UNTIL = (
    "Before this instant (exclusive), with its UTC offset as for `since`; a bare date "
    "(2026-11-25) includes that whole day in the site's time zone."
)


@router.get("/punches", response_model=PunchPage)
def punches(
    key: ViewerKey,
    session: SessionDep,
    store: StoreDep,
    employee_code: Annotated[str | None, Query(max_length=64)] = None,
    employee_id: RowId | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    source_kind: SourceKind | None = None,
    since: Annotated[InstantOrDay | None, Query(description=SINCE)] = None,
    until: Annotated[InstantOrDay | None, Query(description=UNTIL)] = None,
    flags: Annotated[
        str | None, Query(max_length=500, description="e.g. clock_skew,dst_gap")
    ] = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Punches in (occurred_at, id) order; pass next_cursor back for the next page.

    `since` and `until` take an instant with its UTC offset, or a date read in the site's
    time zone (that of the sites most of the caller's employees work at).
    """
    tz = store.settings.default_timezone
    if any(type(v) is date for v in (since, until)):  # the zone is looked up only for a date
        tz = usual_zone(session, scope=key.scope, default=tz)
    try:
        mask = int(PunchFlag.parse(flags or ""))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="flags") from None
    filters = PunchFilter(
        employee_code=employee_code,
        employee_id=employee_id,
        department=department,
        device=device,
        source_kind=source_kind,
        since=bound(since, tz),
        until=bound(until, tz, end=True),
        flags=mask,
        scope=key.scope,
    )
    private = key.sees_private
    page = list_punches(
        session,
        filters=filters,
        cursor=cursor,
        descending=order == "desc",
        limit=limit,
        columns=page_columns(private),
    )
    # Serialised here from the rows; the schema is declared as response_model.
    body = page_json(page.items, page.next_cursor, private=private)
    return Response(body, media_type="application/json")


@router.post("/corrections/add", status_code=201)
def add_punch(
    body: CorrectionAdd, key: HrKey, session: TxDep, store: StoreDep, response: Response
) -> PunchPublic:
    """Add a missing punch (source manual) with a reason; the day is recomputed."""
    punch, created = corrections.add_punch(
        session,
        employee_id=body.employee_id,
        timestamp=body.timestamp,
        state=body.punch_state,
        reason=body.reason,
        actor=key.actor,
        now=utcnow(),
        policy=store.policy,
        scope=key.scope,
        idempotency_key=body.idempotency_key,
    )
    if not created:
        response.status_code = 200
    return PunchPublic.of(punch, private=True)


@router.post("/corrections/void", status_code=201)
def void_punch(
    body: CorrectionVoid, key: HrKey, session: TxDep, store: StoreDep, response: Response
) -> PunchPublic:
    """Void a wrong punch with a reason; the original stays, the day is recomputed."""
    punch, created = corrections.void_punch(
        session,
        punch_id=body.punch_id,
        reason=body.reason,
        actor=key.actor,
        now=utcnow(),
        policy=store.policy,
        scope=key.scope,
        idempotency_key=body.idempotency_key,
    )
    if not created:
        response.status_code = 200
    return PunchPublic.of(punch, private=True)
