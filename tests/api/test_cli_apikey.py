"""`punchgate apikey create/list/revoke` against the test database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from collector.cli import app as cli
from tests.api.conftest import auth


def test_create_list_revoke(db_url, settings, store, monkeypatch):
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    runner = CliRunner()
    made = runner.invoke(cli, ["apikey", "create", "--role", "hr", "--name", "payroll"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("pg_")
    client = TestClient(create_app(settings, store))
    assert client.get("/employees", headers=auth(token)).status_code == 200
    listed = runner.invoke(cli, ["apikey", "list"])
    assert "payroll" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    key_id = listed.stdout.split("\t")[0]
    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 0
    assert client.get("/employees", headers=auth(token)).status_code == 401
    again = runner.invoke(cli, ["apikey", "revoke", key_id])
    assert again.exit_code == 1
    scoped = runner.invoke(
        cli, ["apikey", "create", "--role", "viewer", "--name", "x", "--department", "NOPE"]
    )
    assert scoped.exit_code == 1
