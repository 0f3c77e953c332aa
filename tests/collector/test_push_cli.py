"""`punchgate push …` and `punchgate emulate push` from the command line."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from collector.cli import app
from collector.cli.emulate_push import pin_range
from collector.store.models import Device, PushCommand
from tests.push_support import add_push_device, counts, live_server

runner = CliRunner()


def test_queue_list_and_refuse_commands(store, db_url, monkeypatch):
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    add_push_device(store)
    queued = runner.invoke(app, ["push", "command", "face-1", "reboot", "--by", "ops"])
    assert queued.exit_code == 0, queued.output
    view = json.loads(queued.stdout.strip())
    assert (view["kind"], view["command"], view["status"], view["requested_by"]) == (
        "reboot",
        "REBOOT",
        "queued",
        "ops",
    )
    refused = runner.invoke(app, ["push", "command", "face-1", "clear_log"])
    assert refused.exit_code == 1
    listed = runner.invoke(app, ["push", "commands", "--device", "face-1"])
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [view["id"]]
    with store.sessions() as s:
        assert s.scalars(select(PushCommand.kind)).all() == ["reboot"]


def test_approve_a_pending_terminal(store, db_url, monkeypatch):
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", db_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    with store.sessions.begin() as s:
        s.add(
            Device(
                code="push-NEW1",
                kind="push",
                serial="NEW1",
                enabled=False,
                status="pending",
                options={},
                sync_state={},
            )
        )
    result = runner.invoke(app, ["push", "approve", "NEW1", "--code", "hall", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    with store.sessions() as s:
        dev = s.scalar(select(Device).where(Device.serial == "NEW1"))
        assert (dev.code, dev.enabled) == ("hall", True)
    assert runner.invoke(app, ["push", "approve", "NOPE"]).exit_code == 1
    with store.sessions.begin() as s:
        s.add(
            Device(
                code="push-NEW2",
                kind="push",
                serial="NEW2",
                enabled=False,
                status="pending",
                options={},
                sync_state={},
            )
        )
    taken = runner.invoke(app, ["push", "approve", "NEW2", "--code", "hall"])
    assert taken.exit_code == 1
    assert "already taken" in taken.output
    bad_zone = runner.invoke(app, ["push", "approve", "NEW2", "--timezone", "Mars/Base"])
    assert bad_zone.exit_code == 1


def test_emulate_push_uploads_a_backlog(store):
    add_push_device(store, timezone="UTC")
    with live_server(store) as (url, _):
        result = runner.invoke(
            app,
            [
                "emulate",
                "push",
                "--url",
                url,
                "--serial",
                "SIM0001",
                "--backlog",
                "120",
                "--batch",
                "50",
                "--duration",
                "0",
            ],
        )
    assert result.exit_code == 0, result.output
    ledger = json.loads(result.stdout.strip().splitlines()[-1])
    assert (ledger["generated"], ledger["acked_through"], ledger["batches"]) == (120, 120, 3)
    assert counts(store) == (120, 0)


def test_pin_range():
    assert pin_range("1001-1003,abc, 7") == ["1001", "1002", "1003", "abc", "7"]
