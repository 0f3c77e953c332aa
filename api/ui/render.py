"""Rendering pages: the Jinja2 environment, the shared page context and display filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from api.ui.i18n import LANG_COOKIE, label, language, translator
from api.ui.session import PageError, Viewer
from collector.apikeys import Role
from collector.errors import DomainError
from collector.normalize import NormalizeError, zone
from collector.workforce.requests import pending_count

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as shown on the pages ('' for none); the caller has put it in the site's zone."""
    return "" if value is None else value.strftime(fmt)


def local_time(value: datetime | None, tz: str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time in the zone `tz` (a punch's own site or device zone)."""
    if value is None:
        return ""
    try:
        return value.astimezone(zone(tz or "UTC")).strftime(fmt)
    except NormalizeError:
        return value.strftime(fmt + " UTC")


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal."""
    return "" if value is None else f"{value * 100:.1f}%"


def hours(seconds: int | float | None) -> str:
    """Seconds as hours and minutes, h:mm, the one way the pages show a duration."""
    m = int(abs(seconds or 0)) // 60
    return f"{m // 60}:{m % 60:02d}"


def signed_minutes(seconds: int | float | None) -> str:
    """Seconds as signed hours and minutes, e.g. -1:05."""
    return ("-" if (seconds or 0) < 0 else "+") + hours(seconds)


env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    when=when, local_time=local_time, percent=percent, hm=signed_minutes, hours=hours
)


def with_query(request: Request, **changes: Any) -> str:
    """The current URL's query with `changes` applied (None removes a parameter)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the nav, the language and the CSRF token filled in."""
    lang = language(request)
    catalogue = translator(lang)
    html = env.get_template(template).render(
        request=request,
        viewer=viewer,
        lang=lang,
        t=lambda key, **values: (
            label(catalogue, key).format(**values) if values else label(catalogue, key)
        ),
        csrf=viewer.csrf if viewer is not None else context.pop("csrf", ""),
        with_query=lambda **kw: with_query(request, **kw),
        path=request.url.path,
        pending_requests=_pending_requests(request, viewer),
        **{"tz": request.app.state.store.settings.default_timezone, **context},
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/ui", samesite="lax")
    return response


def _pending_requests(request: Request, viewer: Viewer | None) -> int | None:
    """The navigation's count of requests waiting for this visitor (None: not theirs to decide)."""
    if viewer is None or not viewer.role.allows(Role.MANAGER):
        return None
    session = request.app.state.store.readers()
    try:
        return pending_count(session, scope=viewer.principal.scope)
    except SQLAlchemyError:
        # An error page must render even when the database is what failed: no count then.
        return None
    finally:
        session.close()


@contextmanager
def page_errors() -> Iterator[None]:
    """Show the service layer's refusals (bad period, unknown id…) as a page, not JSON."""
    try:
        yield
    except DomainError as exc:
        raise PageError(exc.status, exc.detail) from None
