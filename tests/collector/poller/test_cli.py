"""`punchgate sync` and `punchgate emulate zk` end to end on loopback."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from collector.cli import app
from tests.collector.poller.conftest import device_row, distinct_punches, emulate, punch_count


def test_sync_configured_device_json_then_nothing_new(zk_store, add_terminal, monkeypatch):
    terminal = add_terminal("door", records=3000, record_size=40)
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    runner = CliRunner()
    first = runner.invoke(app, ["sync", "door", "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["read"] == 3000 and summary["inserted"] == distinct_punches(terminal)
    second = runner.invoke(app, ["sync", "door", "--json"])
    assert json.loads(second.stdout.strip().splitlines()[-1])["read"] == 0
    assert punch_count(zk_store, "door") == distinct_punches(terminal)


def test_sync_ad_hoc_host_and_wrong_key(zk_store, add_terminal, emulator, monkeypatch):
    terminal = add_terminal("keyed", records=50, comm_key=99)
    port = next(p for p, t in emulator.terminals.items() if t is terminal)
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", zk_store.settings.database_url)
    runner = CliRunner()
    bad = runner.invoke(
        app, ["sync", "--host", "127.0.0.1", "--port", str(port), "--comm-key", "1"]
    )
    assert bad.exit_code == 2 and "wrong comm key" in bad.output
    ok = runner.invoke(
        app, ["sync", "--host", "127.0.0.1", "--port", str(port), "--comm-key", "99", "--udp"]
    )
    assert ok.exit_code == 0, ok.output
    assert punch_count(zk_store, f"127.0.0.1:{port}") == distinct_punches(terminal)
    assert device_row(zk_store, "keyed").status == "unknown"  # ad-hoc runs leave rows alone


def test_emulate_command_serves_pyzk():
    args = ["--port", "0", "--count", "2", "--records", "120", "--layout", "16", "--comm-key", "7"]
    with emulate("zk", *args, "--duration", "20") as hello:
        ports = hello["ports"]
        assert len(ports) == 2
        from zk import ZK

        conn = ZK("127.0.0.1", port=ports[1], timeout=3, password=7, ommit_ping=True).connect()
        try:
            assert len(conn.get_attendance()) == 120
        finally:
            conn.disconnect()
