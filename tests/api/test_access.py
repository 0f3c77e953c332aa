"""Every route refuses missing, wrong, revoked and too-weak keys; only /health, /iclock and
the pages' sign-in are open. API routes take keys in headers; pages take them in the session
cookie only, and send whoever has no valid session to the sign-in page."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import Response

from api.auth import OPEN_PATHS, OPEN_PREFIXES, Requirement
from api.ui.session import COOKIE, UiRequirement
from collector import uisessions
from collector.apikeys import Role
from tests.api.conftest import auth, open_ui_session

WRONG_TOKENS = [
    "pg_000000000000_not-the-secret",  # well-formed, unknown prefix
    "nonsense",  # malformed
    "",
]


def requirement_of(route: APIRoute) -> Requirement | UiRequirement | None:
    """The minimum-role declaration among the route's dependencies, if any."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Requirement | UiRequirement):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def concrete(path: str) -> str:
    # An id nothing has, so the walk cannot revoke its own keys or delete its fixtures.
    return re.sub(r"\{[^}]+\}", "999999", path)


def api_routes(app) -> list[APIRoute]:
    """Every route of the app, through included routers (FastAPI nests them)."""
    routes = [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]
    assert len(routes) > 30  # the walk sees the whole app, not an empty list
    return routes


def test_every_route_declares_a_role_unless_open(app):
    undeclared = [
        r.path for r in api_routes(app) if requirement_of(r) is None and not is_open(r.path)
    ]
    assert undeclared == []
    # Nothing outside the open list is reachable without a key (e.g. FastAPI's /docs).
    others = [c.route for c in iter_route_contexts(app.routes) if not isinstance(c.route, APIRoute)]
    assert others == []


def session_cookie(session_id: str) -> dict[str, str]:
    """The Cookie header a browser holding this session id sends."""
    return {"Cookie": f"{COOKIE}={session_id}"}


def sent_to_sign_in(answer: Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in?next=")


def walk_page(client, store, keys, route, needed: UiRequirement) -> int:
    """A page refuses every request without a genuine session of a strong enough key."""
    path = concrete(route.path)
    for method in route.methods:

        def call(session_id: str | None, headers=None, method=method, path=path):
            # Forms carry the session's CSRF token, so only the session decides.
            data = None
            if method == "POST" and session_id is not None:
                data = {"csrf": uisessions.csrf_token(session_id)}
            if session_id is not None:
                headers = {**(headers or {}), **session_cookie(session_id)}
            return client.request(method, path, headers=headers, data=data, follow_redirects=False)

        assert sent_to_sign_in(call(None)), (method, path)
        # A bearer key is for the API: the pages read the session cookie only.
        assert sent_to_sign_in(call(None, auth(keys.admin))), (method, path)
        # A cookie holding an API key itself, or an id the server never gave out.
        for fake in [*WRONG_TOKENS[:2], keys.admin, uisessions.new_id()]:
            assert sent_to_sign_in(call(fake)), (method, path, fake)
        # A session of a revoked key (one left behind, had revocation not ended it).
        assert sent_to_sign_in(call(open_ui_session(store, keys.revoked))), (method, path)
        genuine = open_ui_session(store, keys.admin)
        forged = genuine[:-4] + ("0000" if not genuine.endswith("0000") else "1111")
        assert sent_to_sign_in(call(forged)), (method, path)
        for role in Role:
            answer = call(open_ui_session(store, keys.of(role)))
            if role.allows(needed.role):
                assert answer.status_code not in (401, 403), (method, path, role)
                assert not sent_to_sign_in(answer), (method, path, role)
            else:
                assert answer.status_code == 403, (method, path, role)
                assert "text/html" in answer.headers["content-type"]
    return 1


def test_every_route_refuses_bad_keys(app, client, keys, store):
    checked = pages = 0
    for route in api_routes(app):
        if is_open(route.path):
            continue
        needed = requirement_of(route)
        assert needed is not None
        if isinstance(needed, UiRequirement):
            pages += walk_page(client, store, keys, route, needed)
            continue
        path = concrete(route.path)
        assert route.methods is not None  # FastAPI gives every APIRoute its methods
        for method in route.methods:

            def call(headers, method=method, path=path):
                return client.request(method, path, headers=headers, json={})

            missing = call({})
            assert missing.status_code == 401, (method, path)
            assert missing.headers["content-type"] == "application/problem+json"
            assert missing.headers["www-authenticate"] == "Bearer"
            for token in WRONG_TOKENS:
                assert call(auth(token)).status_code == 401, (method, path, token)
                assert call({"X-API-Key": token}).status_code == 401, (method, path, token)
            assert call(auth(keys.revoked)).status_code == 401, (method, path)
            for role in Role:
                answer = call(auth(keys.of(role)))
                if role.allows(needed.role):
                    assert answer.status_code not in (401, 403), (method, path, role)
                else:
                    assert answer.status_code == 403, (method, path, role)
                    assert answer.json()["status"] == 403
            checked += 1
    assert checked > 30
    assert pages >= 10  # every page and form: today … quarantine, add, void, reprocess


def test_open_routes_answer_without_a_key(client):
    assert client.get("/health").status_code == 200
    assert client.get("/ui/sign-in").status_code == 200
    assert client.get("/ui/static/style.css").status_code == 200


def test_x_api_key_header_is_accepted(client, keys):
    assert client.get("/departments", headers={"X-API-Key": keys.hr}).status_code == 200
    assert client.get("/departments", headers={"X-API-Key": keys.viewer}).status_code == 403


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/reports/lateness", Role.VIEWER),
        ("/punches", Role.VIEWER),
        ("/corrections/add", Role.HR),
        ("/quarantine", Role.HR),
        ("/employees", Role.HR),
        ("/api-keys", Role.ADMIN),
        ("/ui-sessions", Role.ADMIN),
        ("/metrics", Role.ADMIN),
        ("/ui/today", Role.VIEWER),
        ("/ui/punches", Role.VIEWER),
        ("/ui/punches/add", Role.HR),
        ("/ui/quarantine", Role.HR),
    ],
)
def test_the_rule_table_matches_the_issue(app, path, role):
    routes = [r for r in api_routes(app) if r.path == path]
    assert routes
    # Reads of master data need hr; every write to it needs admin.
    needs = [requirement_of(r) for r in routes]
    assert None not in needs
    least = min((n.role for n in needs if n is not None), key=lambda r: r.rank)
    assert least is role
