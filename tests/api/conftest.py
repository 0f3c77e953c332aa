"""Fixtures for the API tests: the app on the test's store, keys of every role, a client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from collector import uisessions
from collector.apikeys import Role, create_key, revoke_key
from collector.runtime import Store, utcnow
from collector.store.models import ApiKey, Department


@dataclass
class Keys:
    """Tokens of each role, department-scoped hr, manager and viewer keys, a revoked admin key."""

    admin: str
    hr: str
    manager: str
    viewer: str
    scoped_hr: str
    scoped_manager: str
    scoped_viewer: str
    revoked: str
    department_id: int

    def of(self, role: Role) -> str:
        """The unscoped token of `role`."""
        return {
            Role.ADMIN: self.admin,
            Role.HR: self.hr,
            Role.MANAGER: self.manager,
            Role.VIEWER: self.viewer,
        }[role]


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def open_ui_session(store: Store, token: str, *, user_agent: str = "pytest") -> str:
    """Open a page session for the key `token` names, revoked or not; returns its id.

    Sessions start now by the clock, since the pages check them against the clock.
    """
    prefix = token.split("_", 2)[1]
    with store.sessions.begin() as s:
        key_id = s.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        assert key_id is not None, "no key with that prefix"
        return uisessions.start(
            s,
            key_id=key_id,
            now=utcnow(),
            limits=uisessions.Limits.of(store.settings),
            user_agent=user_agent,
        )


@pytest.fixture
def keys(store: Store, now: datetime) -> Keys:
    """One key per role, scoped keys for department OPS, and a revoked admin key."""
    with store.sessions.begin() as s:
        s.add(Department(code="OPS", name="Operations"))
        s.flush()
        # The manager's keys come last, so the older keys keep the ids tests name them by.
        older = [r for r in Role if r is not Role.MANAGER]
        made: dict[Role, str] = {
            role: create_key(s, name=role.value, role=role, now=now).token for role in older
        }
        scoped_hr = create_key(s, name="ops-hr", role=Role.HR, now=now, department_code="OPS")
        scoped_viewer = create_key(
            s, name="ops-viewer", role=Role.VIEWER, now=now, department_code="OPS"
        )
        gone = create_key(s, name="gone", role=Role.ADMIN, now=now)
        revoke_key(s, key_id=gone.key.id, now=now)
        made[Role.MANAGER] = create_key(s, name="manager", role=Role.MANAGER, now=now).token
        scoped_manager = create_key(
            s, name="ops-manager", role=Role.MANAGER, now=now, department_code="OPS"
        )
        dept_id = scoped_hr.key.department_id
    assert dept_id is not None
    return Keys(
        admin=made[Role.ADMIN],
        hr=made[Role.HR],
        manager=made[Role.MANAGER],
        viewer=made[Role.VIEWER],
        scoped_hr=scoped_hr.token,
        scoped_manager=scoped_manager.token,
        scoped_viewer=scoped_viewer.token,
        revoked=gone.token,
        department_id=dept_id,
    )


@pytest.fixture
def app(settings, store: Store) -> FastAPI:
    """The app on this test's store."""
    return create_app(settings, store)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """A client that returns 500 responses instead of raising."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def admin(client: TestClient, keys: Keys) -> TestClient:
    """A client sending the admin key on every request."""
    client.headers.update(auth(keys.admin))
    return client


def api_routes_of(app: FastAPI) -> list[APIRoute]:
    """Every route of the app, through included routers (FastAPI nests them)."""
    return [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]
