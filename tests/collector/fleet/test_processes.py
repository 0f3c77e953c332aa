"""Three `punchgate serve` processes on one PostgreSQL and six emulated ZK terminals.

What each terminal saw (its own connection log, each session traced to the process holding
the socket) proves one poller per terminal at any time; a SIGKILLed process's terminals
and singleton job are taken over within the lease.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from collector.config import apply_config, parse_config
from collector.runtime import utcnow
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.db import make_engine
from collector.store.models import FleetNode, Lease
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import make_users
from tests.conftest import TEST_SECRET_KEY, _truncate_all
from tests.fleet_support import ServeProcess, SocketOwners, overlaps
from tests.mqtt_support import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_S = 3.0
TERMINALS = 6
NODES = ("node-a", "node-b", "node-c")


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An emptied PostgreSQL database (the multi-process tests need one: SQLite has one writer
    and these tests are about several machines' worth of processes)."""
    engine = make_engine(pg_url)
    _truncate_all(engine)
    yield engine
    engine.dispose()


def _terminals(engine: Engine, host: EmulatorHost) -> dict[str, Terminal]:
    out: dict[str, Terminal] = {}
    devices: list[dict[str, Any]] = []
    for i in range(TERMINALS):
        code = f"door-{i}"
        terminal = Terminal(TerminalSpec(name=code, serial=f"SN-{code}"), make_users(5))
        port = host.add(terminal)
        out[code] = terminal
        devices.append(
            {"code": code, "kind": "zk", "host": "127.0.0.1", "port": port, "transport": "tcp"}
        )
    settings = Settings(database_url=str(engine.url), config=None, secret_key=TEST_SECRET_KEY)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        apply_config(
            session, parse_config({"devices": devices}), now=utcnow(), box=SecretBox(settings)
        )
    return out


def _env(pg_url: str) -> dict[str, str]:
    return {
        "PUNCHGATE_DATABASE_URL": pg_url,
        "PUNCHGATE_SECRET_KEY": TEST_SECRET_KEY,
        "PUNCHGATE_LEASE_S": str(LEASE_S),
        "PUNCHGATE_ZK_POLL_INTERVAL_S": "0.5",
        "PUNCHGATE_ZK_TIMEOUT_S": "2",
        "PUNCHGATE_ZK_RETRY_BASE_S": "0.2",
        "PUNCHGATE_ZK_RETRY_MAX_S": "1",
        "PUNCHGATE_DB_POOL_SIZE": "5",
        "PUNCHGATE_LOG_LEVEL": "INFO",
    }


def _leases(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {k: o for k, o in conn.execute(select(Lease.key, Lease.owner))}


def _pollers_since(terminals: dict[str, Terminal], since: float) -> dict[str, set[object]]:
    return {
        code: {c.who for c in t.connections if c.opened >= since} for code, t in terminals.items()
    }


def test_three_processes_share_terminals_and_take_over_a_killed_one(
    pg_url: str, pg_engine: Engine, tmp_path: Path
) -> None:
    owners = SocketOwners()
    procs: dict[str, ServeProcess] = {}
    with EmulatorHost(on_connect=owners) as host:
        terminals = _terminals(pg_engine, host)
        try:
            for name in NODES:
                proc = ServeProcess(name, _env(pg_url), "poller,days,retention", tmp_path)
                procs[name] = proc
                owners.pids.add(proc.pid)

            def balanced() -> bool:
                held = _leases(pg_engine)
                per_node = [
                    sum(1 for k, o in held.items() if o == n and k.startswith("terminal:"))
                    for n in NODES
                ]
                return per_node == [2, 2, 2]

            wait_for(balanced, timeout=90, every=0.2)
            settled = time.time() + LEASE_S  # a beat or so for given-up sessions to end
            time.sleep(LEASE_S + 3)

            # Each terminal was polled by exactly one process, two terminals per process.
            by_terminal = _pollers_since(terminals, settled)
            pid_of = {p.pid: name for name, p in procs.items()}
            assert all(len(w) == 1 and None not in w for w in by_terminal.values()), by_terminal
            polled_by = {code: pid_of[next(iter(w))] for code, w in by_terminal.items()}  # type: ignore[index]
            assert sorted(polled_by.values()) == sorted([*NODES, *NODES])
            for code, t in terminals.items():
                assert not overlaps(t.connections), code

            # The singleton ran in one process: the one holding its lease.
            held = _leases(pg_engine)
            holder = held["job:retention"]
            ran = [n for n, p in procs.items() if "retention: running" in p.output()]
            assert ran == [holder]

            # SIGKILL the holder: its terminals and job are taken over within the lease.
            victim = procs[holder]
            lost = sorted(code for code, name in polled_by.items() if name == holder)
            killed = time.time()
            victim.kill()
            owners.pids.discard(victim.pid)

            def taken_over() -> dict[str, float] | None:
                firsts = {}
                for code in lost:
                    after = [c.opened for c in terminals[code].connections if c.opened > killed]
                    if not after:
                        return None
                    firsts[code] = min(after) - killed
                return firsts

            firsts = wait_for(taken_over, timeout=4 * LEASE_S + 20, every=0.1)
            takeover = max(firsts.values())
            print(f"\ntakeover after SIGKILL: {takeover:.2f} s (lease {LEASE_S} s) {firsts}")
            assert takeover <= 2 * LEASE_S + 3  # lease + a beat, with room for a loaded host
            wait_for(
                lambda: any(
                    "retention: running" in procs[n].output() for n in NODES if n != holder
                ),
                timeout=4 * LEASE_S + 20,
            )
            time.sleep(LEASE_S)
            after = _pollers_since(terminals, time.time() - LEASE_S / 2)
            survivors = {p.pid for n, p in procs.items() if n != holder}
            assert all(w <= survivors for w in after.values()), after
            for code, t in terminals.items():
                assert not overlaps(t.connections), code
            with pg_engine.connect() as conn:
                nodes = set(conn.scalars(select(FleetNode.node_id)))
            assert holder in nodes  # a killed node's row stays until it ages out

            # SIGSTOP a survivor past its lease: the other takes its terminals; once it
            # resumes it must not poll them (its renewal is stale), so no session overlaps.
            paused_name = next(n for n in NODES if n != holder)
            paused = procs[paused_name]
            os.killpg(paused.pid, signal.SIGSTOP)
            stopped = time.time()
            time.sleep(2 * LEASE_S + 2)
            os.killpg(paused.pid, signal.SIGCONT)
            resumed = time.time()
            time.sleep(2 * LEASE_S)
            for code, t in terminals.items():
                # A session the paused process had open when frozen stays open (the kernel
                # keeps its socket) while the other takes over: that one is left out; any
                # session it opened after resuming is not (docs/fleet.md).
                kept = [
                    c
                    for c in t.connections
                    if not (
                        c.who == paused.pid
                        and c.opened < resumed
                        and (c.closed or time.time()) > stopped
                    )
                ]
                assert not overlaps(kept), (code, overlaps(kept))
            other = next(p for n, p in procs.items() if n not in (holder, paused_name))
            during = _pollers_since(terminals, stopped + 2 * LEASE_S)
            assert all(other.pid in w for w in during.values()), during
        finally:
            for proc in procs.values():
                proc.terminate()
        outputs = {n: p.output() for n, p in procs.items()}
    assert all("Traceback" not in out for n, out in outputs.items() if n != holder), outputs
