"""Today: who is in, who has left, who is late and who has not punched yet."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.ui.render import render
from api.ui.scope import PageZone
from api.ui.session import ViewerPage
from collector.normalize import zone
from collector.reports.board import board
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
REFRESH_S = 60


def group_of(row: dict[str, Any]) -> str:
    """Which of the four groups a board row belongs to."""
    if not row["punches"]:
        return "not_punched"
    return "out" if row["last_out"] is not None else "in"


@router.get("/today", response_class=HTMLResponse)
def today_page(
    request: Request,
    viewer: ViewerPage,
    tz: PageZone,
    session: SessionDep,
    day: date | None = None,
) -> Response:
    """The board of today (or `day`) in the site's zone, refreshing itself."""
    when = day or utcnow().astimezone(zone(tz)).date()
    report = board(session.connection(), day=when, default_tz=tz, scope=viewer.principal.scope)
    rows = list(report.dicts())
    for row in rows:
        row["group"] = group_of(row)
    counts = {
        "in": sum(r["group"] == "in" for r in rows),
        "out": sum(r["group"] == "out" for r in rows),
        "late": sum(r["late_minutes"] > 0 or r["status"] == "late" for r in rows),
        "not_punched": sum(r["group"] == "not_punched" for r in rows),
    }
    return render(
        request,
        "today.html",
        viewer,
        day=when,
        rows=rows,
        counts=counts,
        refresh=REFRESH_S,
        page="today",
    )
