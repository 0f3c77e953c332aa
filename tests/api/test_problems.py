"""Every error is RFC 9457 problem+json; a crash shows neither a trace nor a secret."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import AdminKey
from tests.api.conftest import auth

PROBLEM = "application/problem+json"


def shape(answer, status):
    assert answer.status_code == status
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    return body


def test_unknown_path_and_method(client):
    assert shape(client.get("/no/such/thing"), 404)["instance"] == "/no/such/thing"
    shape(client.put("/health"), 405)


def test_missing_and_forbidden(client, keys):
    assert "API key" in shape(client.get("/punches"), 401)["detail"]
    assert "admin" in shape(client.get("/api-keys", headers=auth(keys.hr)), 403)["detail"]


def test_domain_errors(admin):
    shape(admin.get("/employees/424242"), 404)
    admin.post("/departments", json={"code": "ENG", "name": "E"})
    assert (
        "ENG" in shape(admin.post("/departments", json={"code": "ENG", "name": "E"}), 409)["detail"]
    )


def test_validation_names_each_field(admin):
    body = shape(admin.post("/sites", json={"code": "", "lat": 200}), 422)
    assert sorted(e["field"] for e in body["errors"]) == ["code", "lat", "name"]
    nested = shape(admin.post("/departments", json=[1, 2]), 422)
    assert nested["errors"][0]["field"] == "body"
    extra = shape(admin.post("/departments", json={"code": "A", "name": "A", "boss": 1}), 422)
    assert [e["field"] for e in extra["errors"]] == ["boss"]


def test_unexpected_error_is_a_bare_500(app: FastAPI, keys, caplog):
    @app.get("/boom")
    def boom(_: AdminKey) -> None:
        raise RuntimeError("password=hunter2 in /srv/secret.py")

    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="api.problems"):
        answer = client.get("/boom", headers=auth(keys.admin))
    body = shape(answer, 500)
    assert "hunter2" not in answer.text and "Traceback" not in answer.text
    assert body["detail"] == "the server failed to handle this request"
    assert "hunter2" in caplog.text  # the server's own log keeps the cause


def test_a_policy_document_nested_20000_deep_is_refused_as_invalid_json(admin):
    # Python's json gave up with RecursionError and the answer said only "error parsing".
    deep = '{"a":' * 20_000 + "1" + "}" * 20_000
    for body in (deep, '{"name": "p", "kind": "fixed", "document": ' + deep + "}"):
        answer = admin.post("/policies", content=body, headers={"content-type": "application/json"})
        problem = shape(answer, 422)
        assert problem["detail"] == "the body is not JSON within limits: nested too deep"
        assert problem["errors"] == [{"field": "body", "message": problem["detail"]}]
    plain = admin.post("/policies", content="{", headers={"content-type": "application/json"})
    assert shape(plain, 422)["detail"].startswith("invalid")  # the same status as ordinary bad JSON
