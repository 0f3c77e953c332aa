"""Devices: pulled and push terminals one by one, phones together."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.ui.render import render
from api.ui.session import ViewerPage
from collector.reports.devices import device_health
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
PHONE_KINDS = ("mobile",)


def phones_together(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The phone rows summed: how many, how many online, latest seen, punches in 24 h."""
    if not rows:
        return None
    seen = [r["last_seen_at"] for r in rows if r["last_seen_at"] is not None]
    errors = [r["last_error"] for r in rows if r["last_error"]]
    return {
        "count": len(rows),
        "online": sum(bool(r["online"]) for r in rows),
        "last_seen_at": max(seen) if seen else None,
        "punches_24h": sum(r["punches_24h"] for r in rows),
        "last_error": errors[-1] if errors else None,
    }


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, viewer: ViewerPage, session: SessionDep) -> Response:
    """Every terminal with online state, last seen, clock skew, log fill and last error."""
    rows = list(device_health(session.connection(), now=utcnow()).dicts())
    return render(
        request,
        "devices.html",
        viewer,
        pulled=[r for r in rows if r["kind"] == "zk"],
        pushed=[r for r in rows if r["kind"] == "push"],
        phones=phones_together([r for r in rows if r["kind"] in PHONE_KINDS]),
        others=[r for r in rows if r["kind"] not in ("zk", "push", *PHONE_KINDS)],
        page="devices",
    )
