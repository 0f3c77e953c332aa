"""Quarantine: what was refused and why, with reprocessing (hr, unscoped keys only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import BigRowId, SessionDep, StoreDep
from api.ui.render import page_errors, render
from api.ui.session import HrPage, PageError, Viewer
from collector import quarantine
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)


def _unscoped(viewer: Viewer) -> None:
    # As in the API: quarantined input has no trustworthy owner, so no department claims it.
    if not viewer.principal.scope.everyone:
        raise PageError(403, "the quarantine needs a key without a department scope")


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    viewer: HrPage,
    session: SessionDep,
    status: Annotated[str, Query(pattern="^(open|reprocessed)$")] = "open",
    notice: Annotated[str | None, Query(pattern="^reprocessed_ok$")] = None,
) -> Response:
    """Items oldest first, with the reason and the raw input."""
    _unscoped(viewer)
    items = quarantine.list_items(session, status=status, limit=500)
    return render(
        request,
        "quarantine.html",
        viewer,
        items=items,
        shown=status,
        counts=quarantine.open_counts_by_reason(session),
        notice=notice,
        page="quarantine",
    )


@router.post("/quarantine/{item_id}/reprocess")
def reprocess(
    item_id: BigRowId,
    viewer: HrPage,
    store: StoreDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Replay an item through ingest; a page explains when it still cannot be a punch."""
    _unscoped(viewer)
    viewer.check_csrf(csrf)
    with page_errors(), store.sessions.begin() as s:
        quarantine.reprocess(
            s, item_id=item_id, actor=viewer.principal.actor, now=utcnow(), policy=store.policy
        )
    return RedirectResponse("/ui/quarantine?notice=reprocessed_ok", status_code=303)
