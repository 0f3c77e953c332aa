"""The installable shell: the punch page, its manifest, service worker, script, style and icons.

Everything is served by the app itself (nothing from the internet) with short caching;
the service worker keeps a copy so the page opens offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from api.phone.pages import render_app
from api.ui.i18n import translator
from rules.leavetypes import LEAVE_TYPES

router = APIRouter(prefix="/app", include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static" / "app"
FILES = {
    "app.js": "text/javascript",
    "month.js": "text/javascript",
    "requests.js": "text/javascript",
    "app.css": "text/css",
    "icon.svg": "image/svg+xml",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}
# Leave an employee asks for in the app (a trip is its own kind of request).
LEAVE_CHOICES = [code for code in LEAVE_TYPES if code != "business_trip"]
REVALIDATE = {"Cache-Control": "no-cache"}  # the service worker and browser ask each time


@router.get("")
def punch_page(request: Request) -> HTMLResponse:
    """The punch screen (the same for every phone: who it is comes from /app/me)."""
    response = render_app(request, "app.html")
    response.headers.update(REVALIDATE)
    return response


@router.get("/my-month")
def month_page(request: Request) -> HTMLResponse:
    """My month (the same for every phone: the figures come from /app/month)."""
    response = render_app(request, "app_month.html")
    response.headers.update(REVALIDATE)
    return response


@router.get("/my-requests")
def requests_page(request: Request) -> HTMLResponse:
    """My requests (the same for every phone: the list comes from /app/requests)."""
    response = render_app(request, "app_requests.html", leave_types=LEAVE_CHOICES)
    response.headers.update(REVALIDATE)
    return response


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> JSONResponse:
    """The web app manifest that makes /app installable."""
    t = translator("zh" if request.query_params.get("lang") == "zh" else "en")
    body = {
        "name": f"punchgate · {t['app_title']}",
        "short_name": t["app_title"],
        "start_url": "/app",
        "scope": "/app",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0f766e",
        "icons": [
            {"src": "/app/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/app/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/app/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers=REVALIDATE)


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The service worker, allowed to control /app itself (not only /app/...)."""
    headers = {**REVALIDATE, "Service-Worker-Allowed": "/app"}
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=headers)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """One of the shell's files, by name from a fixed list (no paths from the request)."""
    media = FILES.get(name)
    if media is None:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(STATIC / name, media_type=media, headers=REVALIDATE)
