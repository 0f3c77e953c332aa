"""Devices: pulled and push terminals one by one, phones together."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.ui.render import render
from api.ui.scope import PageZone
from api.ui.session import ViewerPage
from collector.reports.devices import device_health, phone_summary
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)
# Terminals read by a collector (or a site agent): ZK, Hikvision, Dahua and BioTime.
PULLED_KINDS = ("zk", "hik", "dahua", "biotime")
# Phones have no device rows; a gateway row, if one is configured, shows with the phones.
PHONE_KINDS = ("mobile",)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(
    request: Request, viewer: ViewerPage, tz: PageZone, session: SessionDep
) -> Response:
    """Every terminal with online state, last seen (in its own zone), skew, fill, last error."""
    now = utcnow()
    conn = session.connection()
    rows = list(device_health(conn, now=now).dicts())
    return render(
        request,
        "devices.html",
        viewer,
        pulled=[r for r in rows if r["kind"] in PULLED_KINDS],
        pushed=[r for r in rows if r["kind"] == "push"],
        phones=next(phone_summary(conn, now=now).dicts()),
        gateways=[r for r in rows if r["kind"] in PHONE_KINDS],
        agents=[r for r in rows if r["kind"] == "agent"],
        others=[r for r in rows if r["kind"] not in (*PULLED_KINDS, "push", "agent", *PHONE_KINDS)],
        page="devices",
        tz=tz,
    )
