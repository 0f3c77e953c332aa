"""The soak's site agent: its ZK terminal read by a `punchgate-agent` process into a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from collector.poller.terminals import load_terminals
from collector.runtime import Store
from collector.settings import Settings
from collector.store.models import Quarantine
from soak.agent import AgentProcess, backlog, create
from soak.configfile import write_config
from soak.ledger import Comparison, QuarantineRow, compare
from soak.monitor import source_of, stored_punches
from soak.procs import Children
from soak.sources import Plan, Sources
from tests.collector.agent.support import CentralProcess
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import wait_for

CODE = "agent-zk-1"


@pytest.fixture
def sources() -> Iterator[Sources]:
    """The soak's set-up of one ZK terminal behind the agent, a few punches on it."""
    found = Sources(
        Plan(terminals=0, live=0, udp=0, push=0, phones=0, hik=0, dahua=0, agent_terminals=1,
             history=4)
    )  # fmt: skip
    found.start_terminals()
    yield found
    found.close()


def _verdict(store: Store, sources: Sources) -> Comparison:
    with store.engine.connect() as conn:
        stored = stored_punches(conn)
        rows = conn.execute(
            select(
                Quarantine.source_kind,
                Quarantine.device_code,
                Quarantine.reference,
                Quarantine.reason,
                Quarantine.raw,
            )
        )
        quarantine = [QuarantineRow(*r) for r in rows]
    return compare(sources.generated(), stored, sources.malformed, quarantine)


def _stored(store: Store, sources: Sources) -> int:
    return _verdict(store, sources).by_source.get(f"agent:{CODE}", {}).get("stored", 0)


def test_agent_terminals_are_configured_counted_and_sourced(sources: Sources) -> None:
    assert list(sources.behind_agent) == [CODE] and not sources.terminals
    device = [d for d in sources.config_devices() if d["code"] == CODE]
    assert device and device[0]["kind"] == "zk" and device[0]["port"] == sources.ports[CODE]
    assert sources.counts() == {f"agent:{CODE}": 4, "phones": 0}
    assert {g.source for g in sources.generated()} == {f"agent:{CODE}"}
    assert source_of(CODE) == f"agent:{CODE}"
    users = {u.user_id for u in sources.behind_agent[CODE].users}
    assert users <= set(sources.employee_codes())


def test_agent_forwards_every_punch_once_across_a_sigkill(
    sources: Sources, db_url: str, store: Store, tmp_path: Path
) -> None:
    config = tmp_path / "soak.toml"
    write_config(config, sources)
    settings = Settings(database_url=db_url, config=config, secret_key=TEST_SECRET_KEY)
    token = create(settings, list(sources.behind_agent))
    # The service never polls a terminal that is the agent's.
    assert load_terminals(store.engine, box=store.box) == []
    central = CentralProcess(db_url, tmp_path / "central.log").start()
    children = Children()
    agent = AgentProcess(tmp_path, children)
    try:
        agent.enrol(central.url, token)
        agent.start()
        assert wait_for(lambda: _stored(store, sources) == 4, timeout=60), agent.log_tail()
        count = backlog(sources.behind_agent[CODE], 1000)
        # Killed while its buffer holds punches read but not yet acknowledged.
        assert wait_for(lambda: (agent.depth() or 0) > 0, timeout=30, interval=0.005)
        agent.kill()
        held = agent.depth()
        assert held is not None and 0 < held <= count
        agent.start()
        assert wait_for(lambda: _stored(store, sources) >= 4 + count, timeout=90), agent.log_tail()
        assert wait_for(lambda: agent.depth() == 0, timeout=20)
    finally:
        agent.stop()
        central.stop()
        children.kill_all()
    verdict = _verdict(store, sources)
    assert verdict.ok, verdict.as_dict()
    assert verdict.by_source[f"agent:{CODE}"] == {"generated": 1004, "stored": 1004}
    assert agent.starts == 2
