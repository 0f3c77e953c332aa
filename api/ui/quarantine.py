"""Quarantine: what was refused and why, counted, reprocessed or dismissed (hr, unscoped)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import BigRowId, SessionDep, StoreDep
from api.ui.render import render
from api.ui.session import HrPage, PageError, Viewer
from collector import quarantine
from collector.errors import DomainError
from collector.normalize import zone
from collector.quarantine import QuarantineFilter
from collector.runtime import Store, utcnow
from rules.vocabulary import SourceKind

router = APIRouter(prefix="/ui", include_in_schema=False)
T = TypeVar("T")
PAGE = 500
NOTICES = "^(reprocessed_ok|dismissed_ok|dismissed_many)$"
Text = Annotated[str | None, Query(max_length=2000)]
Csrf = Annotated[str, Form(max_length=100)]
Why = Annotated[str, Form(max_length=2000)]
FILTER_FIELDS = ("reason", "source_kind", "device", "since", "until")


def _unscoped(viewer: Viewer) -> None:
    # As in the API: quarantined input has no trustworthy owner, so no department claims it.
    if not viewer.principal.scope.everyone:
        raise PageError(403, "the quarantine needs a key without a department scope")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(422, f"{name} is not a date (YYYY-MM-DD)") from None


def _kind(value: str | None) -> SourceKind | None:
    if not value:
        return None
    try:
        return SourceKind(value)
    except ValueError:
        raise PageError(422, f"unknown source {value!r}") from None


def page_filter(
    store: StoreDep,
    status: Annotated[str, Query(pattern="^(open|reprocessed|dismissed)$")] = "open",
    reason: Text = None,
    source_kind: Annotated[str | None, Query(max_length=16)] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> QuarantineFilter:
    """The filter form's choice; blank fields choose nothing, dates are in the default zone."""
    tz = zone(store.settings.default_timezone)
    first, last = _day(since, "from"), _day(until, "to")
    return QuarantineFilter(
        status=status,
        reason=reason or None,
        source_kind=_kind(source_kind),
        device_code=device or None,
        since=None if first is None else datetime.combine(first, time(), tzinfo=tz),
        until=None if last is None else datetime.combine(last + timedelta(1), time(), tzinfo=tz),
    )


PageFilter = Annotated[QuarantineFilter, Depends(page_filter)]


def _chosen(request: Request) -> dict[str, str]:
    # The filter as the form sent it, to carry into links and the confirmation's fields.
    return {k: v for k in FILTER_FIELDS if (v := request.query_params.get(k))}


def _list_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    store: Store,
    filters: QuarantineFilter,
    *,
    chosen: dict[str, str],
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    items = quarantine.list_items(session, filters=filters, limit=PAGE)
    return render(
        request,
        "quarantine.html",
        viewer,
        status=status,
        items=items,
        zones=quarantine.item_zones(session, items, default=store.settings.default_timezone),
        shown=filters.status,
        counted=quarantine.counts(session, filters=filters),
        narrowed=filters.narrowed,
        chosen=chosen,
        chosen_query=urlencode(chosen),
        kinds=[k.value for k in SourceKind],
        page="quarantine",
        **context,
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    store: StoreDep,
    filters: PageFilter,
    notice: Annotated[str | None, Query(pattern=NOTICES)] = None,
    dismissed: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """Items oldest first with the reason, the raw input and the time in the device's zone."""
    _unscoped(viewer)
    return _list_page(
        request,
        viewer,
        session,
        store,
        filters,
        chosen=_chosen(request),
        notice=notice,
        dismissed=dismissed,
    )


@router.get("/quarantine/dismiss", response_class=HTMLResponse)
def confirm_dismiss_matching(
    request: Request, viewer: HrPage, session: SessionDep, filters: PageFilter
) -> Response:
    """How many open items the filter matches, and the form that dismisses exactly those."""
    _unscoped(viewer)
    chosen = _chosen(request)
    if not filters.narrowed:
        raise PageError(422, "choose a reason, source, device or dates to dismiss by")
    counted = quarantine.counts(session, filters=dataclasses.replace(filters, status="open"))
    return render(
        request,
        "quarantine_dismiss.html",
        viewer,
        counted=counted,
        chosen=chosen,
        chosen_query=urlencode(chosen),
        page="quarantine",
    )


@router.post("/quarantine/dismiss")
def dismiss_matching(
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    store: StoreDep,
    reason: Why = "",
    match_reason: Annotated[str, Form(max_length=2000)] = "",
    source_kind: Annotated[str, Form(max_length=16)] = "",
    device: Annotated[str, Form(max_length=64)] = "",
    since: Annotated[str, Form(max_length=10)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    through_id: Annotated[BigRowId | None, Form()] = None,
    csrf: Csrf = "",
) -> Response:
    """Dismiss the open items the confirmation counted (none that arrived since); audited."""
    _unscoped(viewer)
    viewer.check_csrf(csrf)
    sent = dict(zip(FILTER_FIELDS, (match_reason, source_kind, device, since, until), strict=True))
    chosen = {k: v for k, v in sent.items() if v}
    filters = page_filter(
        store,
        status="open",
        reason=match_reason,
        source_kind=source_kind,
        device=device,
        since=since,
        until=until,
    )
    filters = dataclasses.replace(filters, through_id=through_id)
    actor = viewer.principal.actor
    return _acted(
        request,
        viewer,
        session,
        store,
        lambda s: quarantine.dismiss_matching(
            s, filters=filters, reason=reason, actor=actor, now=utcnow()
        ),
        lambda done: f"/ui/quarantine?notice=dismissed_many&dismissed={done}",
        filters=filters,
        chosen=chosen,
    )


@router.post("/quarantine/{item_id}/dismiss")
def dismiss(
    item_id: BigRowId,
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    store: StoreDep,
    reason: Why = "",
    csrf: Csrf = "",
) -> Response:
    """Set one item aside with a reason; the page explains a refusal."""
    _unscoped(viewer)
    viewer.check_csrf(csrf)
    actor = viewer.principal.actor
    return _acted(
        request,
        viewer,
        session,
        store,
        lambda s: quarantine.dismiss(s, item_id=item_id, reason=reason, actor=actor, now=utcnow()),
        lambda _: "/ui/quarantine?notice=dismissed_ok",
    )


@router.post("/quarantine/{item_id}/reprocess")
def reprocess(
    item_id: BigRowId,
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    store: StoreDep,
    csrf: Csrf = "",
) -> Response:
    """Replay an item through ingest; the page explains when it still cannot be a punch."""
    _unscoped(viewer)
    viewer.check_csrf(csrf)
    actor, policy = viewer.principal.actor, store.policy
    return _acted(
        request,
        viewer,
        session,
        store,
        lambda s: quarantine.reprocess(
            s, item_id=item_id, actor=actor, now=utcnow(), policy=policy
        ),
        lambda _: "/ui/quarantine?notice=reprocessed_ok",
    )


def _acted(
    request: Request,
    viewer: Viewer,
    session: Session,
    store: Store,
    change: Callable[[Session], T],
    then: Callable[[T], str],
    *,
    filters: QuarantineFilter | None = None,
    chosen: dict[str, str] | None = None,
) -> Response:
    """Make `change` in its own transaction and go to `then(result)`; or show the refusal."""
    try:
        with store.sessions.begin() as s:
            result = change(s)
    except DomainError as exc:
        # The open list again, with the refusal on top: the navigation and the forms stay.
        return _list_page(
            request,
            viewer,
            session,
            store,
            filters or QuarantineFilter(),
            chosen=chosen or {},
            status=exc.status,
            error=exc.detail,
        )
    return RedirectResponse(then(result), status_code=303)
