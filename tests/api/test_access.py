"""Every route refuses missing, wrong, revoked and too-weak keys; only /health is open."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.auth import OPEN_PATHS, OPEN_PREFIXES, Requirement
from collector.apikeys import Role
from tests.api.conftest import auth

WRONG_TOKENS = [
    "pg_000000000000_not-the-secret",  # well-formed, unknown prefix
    "nonsense",  # malformed
    "",
]


def requirement_of(route: APIRoute) -> Requirement | None:
    """The minimum-role declaration among the route's dependencies, if any."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Requirement):
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


def test_every_route_refuses_bad_keys(app, client, keys):
    checked = 0
    for route in api_routes(app):
        if is_open(route.path):
            continue
        needed = requirement_of(route)
        assert needed is not None
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


def test_open_routes_answer_without_a_key(client):
    assert client.get("/health").status_code == 200


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
    ],
)
def test_the_rule_table_matches_the_issue(app, path, role):
    routes = [r for r in api_routes(app) if r.path == path]
    assert routes
    # Reads of master data need hr; every write to it needs admin.
    least = min((requirement_of(r).role for r in routes), key=lambda r: r.rank)
    assert least is role
