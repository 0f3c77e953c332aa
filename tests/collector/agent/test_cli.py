"""`punchgate agent …` centrally, and the agent's own commands, as real processes."""

from __future__ import annotations

import json

from tests.collector.agent.support import AgentProcess, declare_terminal
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import free_port, run_cli


def test_create_list_retarget_and_revoke(store, db_url, tmp_path):
    declare_terminal(store, "T1", 4370)
    env = {"PUNCHGATE_DATABASE_URL": db_url, "PUNCHGATE_SECRET_KEY": TEST_SECRET_KEY}
    made = run_cli("agent", "create", "OFFICE", "--terminal", "T1", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()  # the one-time token, printed once
    assert token.startswith("pgat_") and len(token) == len("pgat_") + 43
    (listed,) = [json.loads(line) for line in run_cli("agent", "list", env=env).stdout.splitlines()]
    assert (listed["code"], listed["terminals"], listed["revoked_at"]) == ("OFFICE", ["T1"], None)
    assert run_cli("agent", "create", "OFFICE", env=env).returncode == 1  # exists
    assert run_cli("agent", "terminals", "OFFICE", "NOPE", env=env).returncode == 1
    assert run_cli("agent", "terminals", "OFFICE", env=env).returncode == 0
    assert run_cli("agent", "revoke", "OFFICE", env=env).returncode == 0
    assert run_cli("agent", "token", "OFFICE", env=env).returncode == 1  # revoked stays revoked
    (listed,) = [json.loads(line) for line in run_cli("agent", "list", env=env).stdout.splitlines()]
    assert listed["terminals"] == [] and listed["revoked_at"]


def test_the_agent_commands_before_enrolment(tmp_path):
    agent = AgentProcess(tmp_path / "buffer.sqlite3", tmp_path / "agent.log")
    status = agent.command("status")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["buffer_depth"] == 0
    assert agent.command("run").returncode == 2  # not enrolled
    nobody = f"http://127.0.0.1:{free_port()}"
    failed = agent.command("enrol", nobody, "some-token")
    assert failed.returncode == 2 and "enrolment failed" in failed.stderr
    # The same commands under the full `punchgate agent`.
    full = run_cli("agent", "status", "--buffer", str(agent.buffer), env={})
    assert full.returncode == 0 and json.loads(full.stdout)["buffer_capacity"] == 2_000_000
