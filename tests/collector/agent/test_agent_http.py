"""The site agent end to end over real HTTP on 127.0.0.1: a central process, agent processes
and emulated ZK terminals; exactly-once across kills and restarts, revocation, config push."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from collector.poller.terminals import load_terminals
from collector.runtime import Store
from collector.store.models import Punch, SiteAgent, SiteAgentBatch
from devices.hikvision.emulator import HikEmulator, HikTerminal
from devices.zk.emulator import EmulatorHost
from tests.collector.agent.support import (
    AgentProcess,
    CentralProcess,
    admin_key,
    declare_terminal,
    distinct_punches,
    emulated_terminal,
    stored,
)
from tests.collector.poller.hikvision.conftest import punches_expected
from tests.helpers import wait_for


@pytest.fixture
def emulator() -> Iterator[EmulatorHost]:
    """An emulator host on free loopback ports."""
    with EmulatorHost() as host:
        yield host


@pytest.fixture
def central(db_url: str, tmp_path: Path) -> Iterator[CentralProcess]:
    """The central service in a process of its own, on this test's database."""
    proc = CentralProcess(db_url, tmp_path / "central.log").start()
    yield proc
    proc.stop()


def create_agent(
    central: CentralProcess,
    headers: dict[str, str],
    code: str,
    terminals: list[str],
    **options: float,
) -> str:
    """Create an agent through the API; its one-time token."""
    answer = httpx.post(
        f"{central.url}/agents",
        json={"code": code, "terminals": terminals, "options": options},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def enrolled_agent(tmp_path: Path, central: CentralProcess, token: str) -> AgentProcess:
    """An agent process enrolled with `token` (not started)."""
    agent = AgentProcess(tmp_path / "agent" / "buffer.sqlite3", tmp_path / "agent.log")
    done = agent.command("enrol", central.url, token)
    assert done.returncode == 0, done.stderr
    return agent


def stored_punches(store: Store, device: str) -> list[tuple[str, str]]:
    """(employee code, UTC time) of every punch stored from a device, duplicates kept."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(Punch.employee_code, Punch.occurred_at).where(Punch.device_code == device)
        )
        return [(code, at.replace(tzinfo=None).isoformat()) for code, at in rows]


def buffer_depth(agent: AgentProcess) -> int:
    """Punches left in the agent's buffer."""
    with sqlite3.connect(agent.buffer) as conn:
        return int(conn.execute("SELECT count(*) FROM punches").fetchone()[0])


def test_backlog_is_forwarded_exactly_once_and_new_punches_follow(
    central, emulator, store, tmp_path
):
    terminal, port = emulated_terminal(emulator, "GATE-1", records=3000)
    declare_terminal(store, "GATE-1", port)
    headers = admin_key(store)
    token = create_agent(central, headers, "OFFICE-A", ["GATE-1"], batch_size=400)
    # The central poller leaves a terminal behind an agent alone.
    assert load_terminals(store.engine, box=store.box) == []
    agent = enrolled_agent(tmp_path, central, token).start()
    try:
        expected = distinct_punches(terminal)
        assert wait_for(lambda: stored(store, "GATE-1") >= len(expected), timeout=90), (
            agent.log.read_text()[-3000:]
        )
        terminal.punch("1001")
        terminal.punch("1002", state=1)
        assert wait_for(lambda: stored(store, "GATE-1") == len(expected) + 2, timeout=30)
        assert wait_for(lambda: buffer_depth(agent) == 0, timeout=10)
    finally:
        assert agent.stop() == 0
    rows = stored_punches(store, "GATE-1")
    assert len(rows) == len(set(rows)) == len(expected) + 2
    assert set(expected) <= set(rows)
    with store.engine.connect() as conn:
        batches = conn.execute(
            select(
                func.count(), func.sum(SiteAgentBatch.inserted), func.sum(SiteAgentBatch.duplicates)
            )
        ).one()
    assert (
        batches[0] >= 8
        and batches[1] == len(rows)
        and batches[2] == terminal.record_count - len(rows)  # each record was sent once
    )


def test_sigkill_mid_forward_and_central_restart_lose_and_double_nothing(
    central, emulator, store, tmp_path
):
    terminal, port = emulated_terminal(emulator, "GATE-2", records=20_000, users=200)
    declare_terminal(store, "GATE-2", port)
    token = create_agent(central, admin_key(store), "OFFICE-B", ["GATE-2"], batch_size=250)
    agent = enrolled_agent(tmp_path, central, token).start()
    expected = distinct_punches(terminal)
    try:
        # Mid-forward: some batches are committed centrally, most are still in the buffer.
        assert wait_for(lambda: stored(store, "GATE-2") >= 2000, timeout=90), agent.log.read_text()[
            -3000:
        ]
        agent.kill()
        assert buffer_depth(agent) > 0
        # The centre dies too; the agent comes back and, on the configuration it kept,
        # reads a new punch into its buffer while the centre is away. What is stored is
        # counted once the centre is dead: a batch the killed agent had already sent may
        # still have been committed (its ack lost; the agent sends it again, deduplicated).
        central.kill()
        partial = stored(store, "GATE-2")
        assert partial < len(expected)
        held = buffer_depth(agent)
        agent.start()
        terminal.punch("1001")
        expected = distinct_punches(terminal)
        assert wait_for(lambda: buffer_depth(agent) == held + 1, timeout=30), agent.log.read_text()[
            -3000:
        ]
        assert stored(store, "GATE-2") == partial
        central.start()
        # And dies again while the agent is forwarding.
        assert wait_for(lambda: stored(store, "GATE-2") >= partial + 2000, timeout=90)
        central.kill()
        central.start()
        assert wait_for(lambda: stored(store, "GATE-2") >= len(expected), timeout=120), (
            agent.log.read_text()[-3000:]
        )
        assert wait_for(lambda: buffer_depth(agent) == 0, timeout=20)
    finally:
        agent.stop()
    rows = stored_punches(store, "GATE-2")
    missing = set(expected) - set(rows)
    assert len(missing) == 0
    assert len(rows) - len(set(rows)) == 0  # duplicated
    assert len(rows) == len(expected)


def test_revoked_agent_is_refused_and_stops(central, emulator, store, tmp_path):
    terminal, port = emulated_terminal(emulator, "GATE-3", records=50)
    declare_terminal(store, "GATE-3", port)
    headers = admin_key(store)
    token = create_agent(central, headers, "OFFICE-C", ["GATE-3"])
    agent = enrolled_agent(tmp_path, central, token)
    # The token was used up: a second enrolment with it is refused.
    again = AgentProcess(tmp_path / "other.sqlite3", tmp_path / "other.log")
    assert again.command("enrol", central.url, token).returncode == 4
    credential = str(
        sqlite3.connect(agent.buffer)
        .execute("SELECT value FROM kept WHERE name = 'credential'")
        .fetchone()[0]
    ).strip('"')
    with store.engine.connect() as conn:
        hashes = conn.execute(select(SiteAgent.credential_hash)).scalars().all()
    assert credential not in hashes and len(hashes[0]) == 64  # kept as a hash only
    agent.start()
    assert wait_for(lambda: stored(store, "GATE-3") == len(distinct_punches(terminal)), timeout=60)
    answer = httpx.post(f"{central.url}/agents/OFFICE-C/revoke", headers=headers)
    assert answer.status_code == 200 and answer.json()["revoked_at"]
    assert agent.proc is not None
    agent.proc.wait(30)
    assert agent.proc.returncode == 4
    assert "refused this agent" in agent.log.read_text()
    refused = httpx.post(
        f"{central.url}/agent/v1/batches",
        json={"batch_id": "b" * 32, "items": []},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert refused.status_code == 401


def test_config_push_adds_a_terminal_and_reports_health(central, emulator, store, tmp_path):
    first, port1 = emulated_terminal(emulator, "GATE-4", records=100)
    second, port2 = emulated_terminal(emulator, "GATE-5", records=150, first_code=2001)
    declare_terminal(store, "GATE-4", port1)
    declare_terminal(store, "GATE-5", port2, timezone="Asia/Shanghai")
    headers = admin_key(store)
    token = create_agent(central, headers, "OFFICE-D", ["GATE-4"])
    agent = enrolled_agent(tmp_path, central, token).start()
    try:
        assert wait_for(lambda: stored(store, "GATE-4") == len(distinct_punches(first)), timeout=60)
        assert stored(store, "GATE-5") == 0
        answer = httpx.patch(
            f"{central.url}/agents/OFFICE-D",
            json={"terminals": ["GATE-4", "GATE-5"], "options": {"poll_interval_s": 0.5}},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        assert wait_for(
            lambda: stored(store, "GATE-5") == len(distinct_punches(second)), timeout=60
        ), agent.log.read_text()[-3000:]
        first.skew(30)  # the terminal's clock runs 30 minutes ahead

        def health_seen() -> bool:
            report = httpx.get(f"{central.url}/reports/devices", headers=headers).json()
            gate = {r["device_code"]: r for r in report["rows"]}["GATE-4"]
            return bool(gate["status"] == "online" and abs((gate["clock_skew_s"] or 0) - 1800) < 60)

        assert wait_for(health_seen, timeout=30)
        report = httpx.get(f"{central.url}/reports/devices", headers=headers).json()
        rows = {r["device_code"]: r for r in report["rows"]}
        assert rows["GATE-4"]["agent"] == "OFFICE-D" and rows["GATE-5"]["agent"] == "OFFICE-D"
        agents = {r["device_code"]: r for r in report["rows"] if r["kind"] == "agent"}
        assert agents["OFFICE-D"]["status"] == "online"
        assert agents["OFFICE-D"]["record_count"] == 0  # its buffer depth
        assert agents["OFFICE-D"]["firmware"]  # its version
        metrics = httpx.get(f"{central.url}/metrics", headers=headers).text
        assert 'punchgate_agent_buffer_depth{agent="OFFICE-D"} 0.0' in metrics
        assert 'punchgate_agent_last_contact_age_seconds{agent="OFFICE-D"}' in metrics
        assert 'punchgate_devices{kind="zk",status="online"} 2.0' in metrics
    finally:
        assert agent.stop() == 0


def test_a_hikvision_terminal_behind_the_agent(central, store, tmp_path):
    terminal = HikTerminal(serial_number="SN-HIK-1")
    terminal.fill(400, seed=3)
    emulator = HikEmulator(terminal)
    emulator.start()
    try:
        declare_terminal(
            store,
            "HIK-1",
            emulator.port,
            kind="hik",
            comm_key=terminal.password,
            options={"username": "admin", "timeout_s": 5},
        )
        token = create_agent(central, admin_key(store), "OFFICE-E", ["HIK-1"])
        agent = enrolled_agent(tmp_path, central, token).start()
        try:
            expected = punches_expected(terminal)
            assert expected > 300
            assert wait_for(lambda: stored(store, "HIK-1") == expected, timeout=60), (
                agent.log.read_text()[-3000:]
            )
            terminal.add_event(terminal.now() - timedelta(minutes=1), employee="7001")
            assert wait_for(lambda: stored(store, "HIK-1") == expected + 1, timeout=30)
        finally:
            assert agent.stop() == 0
    finally:
        emulator.stop()
