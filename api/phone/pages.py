"""Rendering the app's pages: its own shell (no HR nav), the language and the script's labels."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.ui.i18n import label, language, translator
from api.ui.render import env

LANG_COOKIE = "punchgate_app_lang"


def app_language(request: Request) -> str:
    """?lang= first, then the app's language cookie, then the phone's own language."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in ("en", "zh"):
        return asked
    if request.headers.get("accept-language", "").lower().startswith("zh"):
        return "zh"
    return language(request)


def labels(lang: str) -> dict[str, str]:
    """The labels the app's scripts need: their own, statuses, states, flags, requests, weekdays."""
    catalogue = translator(lang)
    keys = [k for k in catalogue if k.startswith(("app_", "s_", "p_", "f_", "rk_", "rs_", "lt_"))]
    keys += ["in", "out"]
    keys += ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {k: label(catalogue, k) for k in keys}


def render_app(
    request: Request, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render an app page in the phone's language."""
    lang = app_language(request)
    catalogue = translator(lang)
    html = env.get_template(template).render(
        lang=lang, t=lambda key: label(catalogue, key), labels=labels(lang), **context
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/app", samesite="lax")
    return response
