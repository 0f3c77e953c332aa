"""Every route refuses missing, wrong, revoked and too-weak keys; only /health, /iclock and
the pages' sign-in are open. API routes take keys in headers; pages take them in the session
cookie only, and send whoever has no valid session to the sign-in page."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.auth import OPEN_PATHS, OPEN_PREFIXES, Requirement
from api.ui.session import COOKIE, SessionData, UiRequirement, encode, secret_of
from collector.apikeys import Role
from tests.api.conftest import auth

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
    routes = [ctx.route for ctx in iter_route_contexts(app.routes)]
    assert len(routes) > 30  # the walk sees the whole app, not an empty list
    return routes


def test_every_route_declares_a_role_unless_open(app):
    undeclared = [
        r.path for r in api_routes(app) if requirement_of(r) is None and not is_open(r.path)
    ]
    assert undeclared == []
    # Nothing outside the open list is reachable without a key (e.g. FastAPI's /docs).
    others = [r for r in api_routes(app) if not isinstance(r, APIRoute)]
    assert others == []


def session_cookie(store, token: str, csrf: str = "walk-csrf-token") -> dict[str, str]:
    """A genuinely signed session cookie carrying `token` (as sign-in would write it)."""
    return {"Cookie": f"{COOKIE}={encode(secret_of(store), SessionData(token, csrf))}"}


def sent_to_sign_in(answer) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in?next=")


def walk_page(client, store, keys, route, needed: UiRequirement) -> int:
    """A page refuses every request without a genuine session of a strong enough key."""
    path = concrete(route.path)
    for method in route.methods:

        def call(headers, method=method, path=path):
            # Forms carry the session's CSRF token, so only the key decides.
            data = {"csrf": "walk-csrf-token"} if method == "POST" else None
            return client.request(method, path, headers=headers, data=data, follow_redirects=False)

        assert sent_to_sign_in(call({})), (method, path)
        # A bearer key is for the API: the pages read the session cookie only.
        assert sent_to_sign_in(call(auth(keys.admin))), (method, path)
        for token in [*WRONG_TOKENS, keys.revoked]:
            assert sent_to_sign_in(call(session_cookie(store, token))), (method, path, token)
        forged = session_cookie(store, keys.admin)["Cookie"][:-4] + "0000"
        assert sent_to_sign_in(call({"Cookie": forged})), (method, path)
        for role in Role:
            answer = call(session_cookie(store, keys.of(role)))
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
    least = min((requirement_of(r).role for r in routes), key=lambda r: r.rank)
    assert least is role
