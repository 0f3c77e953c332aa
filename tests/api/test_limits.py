"""API limits: request body size (413) and the per-key rate (429), both problem+json."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from api.app import create_app
from collector.runtime import Store
from collector.store.db import make_engine, make_sessionmaker
from tests.api.conftest import auth
from tests.helpers import free_port
from tests.push_support import add_push_device


def _client(settings, store, **limits) -> TestClient:
    store.settings = settings.model_copy(update=limits)
    return TestClient(create_app(store.settings, store), raise_server_exceptions=False)


def test_body_over_the_limit_is_refused_with_413(settings, store, keys):
    client = _client(settings, store, api_max_body_bytes=1024)
    body = {"code": "E1", "name": "x" * 2000}
    declared = client.post("/employees", json=body, headers=auth(keys.admin))
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["status"] == 413
    # A chunked body declares no length: it is counted as it streams.
    data = json.dumps(body).encode()
    chunked = client.post(
        "/employees",
        content=(data[i : i + 256] for i in range(0, len(data), 256)),
        headers={**auth(keys.admin), "content-type": "application/json"},
    )
    assert chunked.status_code == 413
    small = client.post("/employees", json={"code": "E1", "name": "x"}, headers=auth(keys.admin))
    assert small.status_code == 201
    assert client.get("/employees", headers=auth(keys.admin)).json()[0]["code"] == "E1"


def test_iclock_keeps_its_own_larger_limit(settings, store):
    add_push_device(store, serial="SIM9")
    client = _client(settings, store, api_max_body_bytes=1024)
    lines = "".join(f"1001\t2026-11-27 08:{i % 60:02d}:00\t0\t1\t0\t0\n" for i in range(100))
    reply = client.post("/iclock/cdata?SN=SIM9&table=ATTLOG&Stamp=1", content=lines)
    assert len(lines) > 1024 and reply.status_code == 200 and reply.text.startswith("OK")


def test_each_key_has_its_own_rate_with_retry_after(settings, store, keys):
    client = _client(settings, store, api_rate_per_s=0.01, api_rate_burst=3)
    replies = [client.get("/employees", headers=auth(keys.hr)) for _ in range(5)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429]
    limited = replies[3]
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["status"] == 429 and int(limited.headers["Retry-After"]) >= 1
    # Another key is not held back by the first one's bucket.
    assert client.get("/employees", headers=auth(keys.admin)).status_code == 200
    # An unknown key is refused as unauthenticated, not counted against anyone.
    assert client.get("/employees", headers=auth("pg_nope")).status_code == 401


def test_store_down_is_503_problem_with_retry_after(settings, store, keys):
    # The API on a database nobody listens on: an outage, not a server bug.
    down = Store(
        settings=settings,
        engine=make_engine(f"postgresql://pg@127.0.0.1:{free_port()}/x?connect_timeout=2"),
        sessions=store.sessions,
    )
    down.sessions = make_sessionmaker(down.engine)
    client = TestClient(create_app(settings, down), raise_server_exceptions=False)
    reply = client.get("/employees", headers=auth(keys.admin))
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "5"
    assert reply.headers["content-type"] == "application/problem+json"
    down.close()
