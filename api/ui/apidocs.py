"""Interactive API docs for signed-in admins: Swagger UI from the fastapi-offline package.

Nothing is fetched from elsewhere: the script and stylesheet come from the installed
package, the schema from the app itself, and Swagger's online validator is switched off.
The pages' cookie belongs to /ui, so /docs sends the browser there; trying a call needs
an API key (the Authorize button), as every API route does.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.ui.session import AdminPage

router = APIRouter(include_in_schema=False)
DOCS = "/ui/docs"
# Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes), as fastapi-offline ships it.
BUNDLE = files("fastapi_offline") / "static"


@router.get("/docs")
def docs_entry() -> Response:
    """Where people look for the docs: on to the page under /ui, where the session is."""
    return RedirectResponse(DOCS, status_code=303)


@router.get(DOCS)
def docs_page(_: AdminPage) -> Response:
    """Swagger UI on the app's OpenAPI document."""
    return get_swagger_ui_html(
        openapi_url=f"{DOCS}/openapi.json",
        title="punchgate API",
        swagger_js_url=f"{DOCS}/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS}/assets/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )


@router.get(f"{DOCS}/openapi.json")
def docs_schema(_: AdminPage, request: Request) -> dict[str, Any]:
    """The OpenAPI document, for the docs page (the API serves it at /openapi.json too)."""
    return request.app.openapi()  # type: ignore[no-any-return]


@router.get(f"{DOCS}/assets/swagger-ui-bundle.js")
def docs_script(_: AdminPage) -> Response:
    """Swagger UI's script, from the installed package."""
    return FileResponse(str(BUNDLE / "swagger-ui-bundle.js"), media_type="text/javascript")


@router.get(f"{DOCS}/assets/swagger-ui.css")
def docs_style(_: AdminPage) -> Response:
    """Swagger UI's stylesheet, from the installed package."""
    return FileResponse(str(BUNDLE / "swagger-ui.css"), media_type="text/css")
