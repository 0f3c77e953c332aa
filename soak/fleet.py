"""`python -m soak.fleet`: three collectors on one PostgreSQL and one Mosquitto, with faults.

The fleet soak of docs/fleet.md. Three `punchgate serve --roles
api,push,poller,mqtt,days,retention` processes, each with its HTTP server on a port of its
own, on a private PostgreSQL and Mosquitto. Traffic: emulated ZK terminals (TCP and UDP,
some with live sessions) punching, push terminals posting /iclock to one node each and
failing over to the next when it does not answer (a load balancer's job), phones (in a
process of their own, soak/fleet_phones.py) each punching once in a morning peak to the
shared subscription and re-sending a punch until its receipt comes, HR readers GETting punch
lists and reports from the nodes that are up, and a few malformed phone messages and push
lines that must be quarantined. Faults: SIGKILL of one process (restarted later under its
node id), SIGSTOP of another past its lease, a Mosquitto restart, a PostgreSQL restart,
SIGKILL of a second process (restarted too).

Checks: every terminal, push and phone punch stored exactly once (per ledger id,
soak.ledger), every quarantined item one that was sent malformed on purpose;
no two processes in session with one terminal at once (the emulators' connection logs,
each session traced to its process), the paused process excepted while it was frozen (it
keeps a connection it opened before the pause; docs/fleet.md); HR reads failing only
against a node that was down or during the PostgreSQL restart. Reported: takeover time
after each kill (from the connection logs), poll gaps, reader latency. `--short` is the CI
preset (about 100 terminals, 2–3 minutes); the defaults are the issue's scale (1,000
terminals, 10 push terminals, 10,000 phones, 10 minutes). Prints one JSON report; exit 1
unless clean.

Not done here: the throughput curve for 1, 2 and 3 processes (bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from collector.apikeys import Role, create_key
from collector.config import apply_config, parse_config
from collector.runtime import utcnow
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from collector.store.models import Lease, Quarantine
from devices.mobile.topics import Topics
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import make_users
from soak.fleet_checks import Window, percentiles, poll_gaps, reader_summary, takeovers
from soak.fleet_phones import PhoneProcess
from soak.fleet_traffic import (
    Gaps,
    HrReaders,
    PushTerminals,
    TerminalPunches,
    paced,
    push_code,
    push_pin,
    push_serial,
    reader_paths,
)
from soak.ledger import Generated, Malformed, QuarantineRow, compare
from soak.monitor import stored_punches
from soak.owners import SocketOwners, overlaps
from soak.procs import Children, Mosquitto, Postgres, free_port, wait_port

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
KEY = "n1UQzNrqH0K9qV1yJ4f3l8rP6xw2sC5bE7dA0gH3kT4="  # the soak's own sealing key
NODES = ("node-a", "node-b", "node-c")
ROLES = "api,push,poller,mqtt,days,retention"
USERS = 20  # people per ZK terminal

# The scale (`make soak-fleet`) and the CI preset (`--short`).
FULL: dict[str, Any] = {
    "duration": 600.0, "terminals": 1000, "live": 30, "udp_share": 0.2, "push": 10,
    "phones": 10_000, "zk_rate": 8.0, "push_rate": 2.0, "lease": 10.0, "poll_interval": 30.0,
    "reader_pause": 0.5, "garbage": 6,
}  # fmt: skip
SHORT: dict[str, Any] = {
    **FULL, "duration": 100.0, "terminals": 100, "live": 6, "push": 4, "phones": 1000,
    "zk_rate": 5.0, "push_rate": 1.0, "lease": 6.0, "poll_interval": 10.0,
}  # fmt: skip


class Node:
    """One `punchgate serve` process of the fleet, restartable under its node id."""

    def __init__(self, name: str, env: dict[str, str], root: Path, children: Children) -> None:
        self.name, self.env, self.children = name, {**os.environ, **env}, children
        self.env["PUNCHGATE_NODE_ID"] = name
        self.port = free_port()
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []
        self.paused = False

    def start(self) -> None:
        """Start (again)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [PUNCHGATE, "serve", "--roles", ROLES, "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=self.env, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        self.children.track(self.proc)
        self.pids.append(self.proc.pid)

    @property
    def up(self) -> bool:
        """Running and not frozen (what a load balancer's health check would see)."""
        return self.proc is not None and self.proc.poll() is None and not self.paused

    def signal(self, sig: int) -> None:
        """Send `sig` to its process group."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
        self.children.forget(self.proc)


class FleetSoak:
    """One run; `run()` returns the report and the exit status."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="punchgate-fleet-soak-"))
        self.children = Children()
        self.pg = Postgres(self.tmp, self.children)
        self.broker = Mosquitto(self.tmp, self.children)
        self.owners = SocketOwners()
        self.host = EmulatorHost(on_connect=self.owners)
        self.terminals: dict[str, Terminal] = {}
        self.devices: dict[str, str] = {}  # code → how it is reached (for reports)
        self.topics = Topics(root=f"fleet{uuid.uuid4().hex[:6]}/punchgate/v1")
        self.phone_codes = [str(200_000 + i) for i in range(args.phones)]
        self.gaps = Gaps()
        self.stop_traffic = threading.Event()  # no new punches
        self.stop_all = threading.Event()  # push loops and readers end
        self.nodes: dict[str, Node] = {}
        self.malformed: list[Malformed] = []
        self.deaths: dict[object, float] = {}  # pid → when it was SIGKILLed
        self.windows: list[Window] = []  # when a node (or every node) could not answer
        self.kills: list[dict[str, Any]] = []
        self.report: dict[str, Any] = {"problems": []}
        self.phones: PhoneProcess | None = None

    # -- setup --------------------------------------------------------------------------

    def _configure(self) -> str:
        """Terminals, push terminals and phones' people in the database; an hr API token."""
        a = self.args
        engine = make_engine(self.pg.url)
        upgrade(engine)
        devices: list[dict[str, Any]] = []
        n_udp = int(a.terminals * a.udp_share)
        for i in range(a.terminals):
            code = f"zk-{i:04d}"
            terminal = Terminal(TerminalSpec(name=code, serial=f"FS-{i:05d}"), make_users(USERS))
            port = self.host.add(terminal)
            self.terminals[code] = terminal
            options: dict[str, Any] = {"interval_s": a.poll_interval, "timeout_s": 3}
            # The first `live` hold a realtime session (TCP); the last `udp_share` poll over UDP.
            if i < a.live:
                options.update(live=True, live_window_s=1.0)
            transport = "udp" if i >= a.terminals - n_udp else "tcp"
            devices.append({"code": code, "kind": "zk", "host": "127.0.0.1", "port": port,
                            "transport": transport, "options": options})  # fmt: skip
            self.devices[code] = f"{transport}{' live' if i < a.live else ''} port {port}"
        for i in range(a.push):
            devices.append({"code": push_code(i), "kind": "push", "serial": push_serial(i)})
        people = [{"code": c, "name": f"Phone {c}"} for c in self.phone_codes]
        pins = [push_pin(i, j) for i in range(a.push) for j in range(20)]
        people += [{"code": pin, "name": f"Push {pin}"} for pin in pins]
        box = SecretBox(Settings(database_url=self.pg.url, config=None, secret_key=KEY))
        with make_sessionmaker(engine).begin() as session:
            cfg = parse_config({"devices": devices, "employees": people})
            apply_config(session, cfg, now=utcnow(), box=box)
            token = create_key(session, name="fleet readers", role=Role.HR, now=utcnow()).token
        engine.dispose()
        self.report["setup"] = {
            "terminals_tcp": a.terminals - n_udp,
            "terminals_udp": n_udp,
            "terminals_live": a.live,
            "push": a.push,
            "phones": a.phones,
        }
        return token

    def _env(self) -> dict[str, str]:
        return {
            "PUNCHGATE_DATABASE_URL": self.pg.url,
            "PUNCHGATE_SECRET_KEY": KEY,
            "PUNCHGATE_MQTT_URL": f"mqtt://punchgate@127.0.0.1:{self.broker.port}",
            "PUNCHGATE_MQTT_PROTOCOL": "5",
            "PUNCHGATE_MQTT_CLIENT_ID": "fleet",
            "PUNCHGATE_MQTT_SHARE_GROUP": "punchgate",
            "PUNCHGATE_MQTT_INGEST_PROCESS": "false",
            "PUNCHGATE_MQTT_TOPIC_ROOT": self.topics.root,
            "PUNCHGATE_LEASE_S": str(self.args.lease),
            "PUNCHGATE_ZK_TIMEOUT_S": "3",
            "PUNCHGATE_ZK_RETRY_BASE_S": "0.5",
            "PUNCHGATE_ZK_RETRY_MAX_S": "3",
            "PUNCHGATE_DB_POOL_SIZE": "8",
            "PUNCHGATE_LOG_LEVEL": "WARNING",
        }

    # -- run ----------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], int]:
        """Everything, every child killed at the end."""
        try:
            return self._run()
        finally:
            self.stop_traffic.set()
            self.stop_all.set()
            if self.phones is not None:
                self.phones.kill()
            for node in self.nodes.values():
                node.stop()
            self.host.stop()
            self.broker.stop()
            self.children.kill_all()
            if not self.args.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _start_node(self, name: str) -> None:
        node = self.nodes[name]
        node.start()
        self.owners.pids.add(node.pids[-1])

    def _run(self) -> tuple[dict[str, Any], int]:
        a = self.args
        t_setup = time.monotonic()
        self.pg.init()
        self.broker.init()
        self.host.start()
        token = self._configure()
        env = self._env()
        for name in NODES:
            self.nodes[name] = Node(name, env, self.tmp, self.children)
            self._start_node(name)
        engine = make_engine(self.pg.url)
        self._wait(lambda: self._balanced(engine), 300, "the fleet never balanced")
        for node in self.nodes.values():
            if not wait_port(node.port, 60):
                raise RuntimeError(f"{node.name} never served HTTP")
        self.report["setup_s"] = round(time.monotonic() - t_setup, 1)

        zk = TerminalPunches(self.terminals, self.gaps)
        ports = [n.port for n in self.nodes.values()]
        push = PushTerminals(a.push, ports, self.gaps, self.stop_all)
        self.phones = phones = PhoneProcess(
            self.broker.port, self.topics.root, self.phone_codes, self.tmp / "phones.json"
        )
        paths = reader_paths(datetime.now(UTC).date(), self.phone_codes, len(self.phone_codes))
        readers = HrReaders(self._up_nodes, paths, token)
        push.start()
        wall0 = time.time()
        t0 = time.monotonic()
        d = a.duration
        threads = [
            threading.Thread(target=paced, args=(self.stop_traffic, a.zk_rate, zk.step)),
            threading.Thread(target=readers.run, args=(self.stop_all, a.reader_pause)),
        ]
        if a.push:
            threads.append(
                threading.Thread(target=paced, args=(self.stop_traffic, a.push_rate, push.step))
            )
        for t in threads:
            t.daemon = True
            t.start()
        phones.start(0.9 * d, a.garbage, 0.15 * d)

        faults: list[dict[str, Any]] = []
        self._sleep_until(t0 + 0.12 * d)
        faults.append(self._kill("node-b", engine))
        self._sleep_until(t0 + 0.27 * d)
        faults.append(self._restart("node-b"))
        self._sleep_until(t0 + 0.37 * d)
        paused = self._pause("node-c", 2 * a.lease + 2)
        faults.append(paused)
        self._sleep_until(t0 + 0.50 * d)
        faults.append(self._restart_broker())
        self._sleep_until(t0 + 0.58 * d)
        faults.append(self._restart_postgres())
        if a.push:
            self.malformed += push.garbage(uuid.uuid4().hex[:6], self._up_nodes()[0][1])
        self._sleep_until(t0 + 0.68 * d)
        faults.append(self._kill("node-a", engine))
        self._sleep_until(t0 + 0.83 * d)
        faults.append(self._restart("node-a"))
        self._sleep_until(t0 + d)
        self.stop_traffic.set()
        for t in threads[:1] + threads[2:]:
            t.join(120)
        phones.wait(300)
        self.malformed += phones.malformed
        traffic_end = time.time()
        self._drain(engine, zk, push, phones)
        self.stop_all.set()
        push.close()
        threads[1].join(60)
        self._check(engine, zk, push, phones, readers, faults, paused, (wall0, traffic_end))
        engine.dispose()
        ok = not self.report["problems"]
        self.report["ok"] = ok
        return self.report, 0 if ok else 1

    def _up_nodes(self) -> list[tuple[str, int]]:
        return [(n.name, n.port) for n in self.nodes.values() if n.up]

    def _sleep_until(self, when: float) -> None:
        while time.monotonic() < when:
            for node in self.nodes.values():
                if node.proc is not None and node.proc.poll() is not None:
                    self.report["problems"].append(f"{node.name} exited by itself")
                    node.proc = None
            time.sleep(0.5)

    @staticmethod
    def _wait(check: Any, timeout: float, problem: str) -> None:
        end = time.monotonic() + timeout
        while not check():
            if time.monotonic() > end:
                raise RuntimeError(problem)
            time.sleep(0.5)

    def _balanced(self, engine: Any) -> bool:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Lease.owner, func.count())
                .where(Lease.key.like("terminal:%"))
                .group_by(Lease.owner)
            ).all()
        counts = {o: n for o, n in rows}
        share = -(-len(self.terminals) // len(NODES))
        return sum(counts.values()) == len(self.terminals) and all(
            0 < counts.get(n, 0) <= share for n in NODES
        )

    # -- faults -------------------------------------------------------------------------

    def _kill(self, name: str, engine: Any) -> dict[str, Any]:
        node = self.nodes[name]
        with engine.connect() as conn:
            held = [
                k.split(":", 1)[1]
                for k in conn.scalars(
                    select(Lease.key).where(Lease.owner == name, Lease.key.like("terminal:%"))
                )
            ]
        pid = node.pids[-1]
        killed = time.time()
        node.signal(signal.SIGKILL)
        assert node.proc is not None
        node.proc.wait(10)
        self.children.forget(node.proc)
        node.proc = None  # killed on purpose, not an exit of its own
        self.deaths[pid] = killed
        kill = {"fault": f"SIGKILL {name}", "at": killed, "pid": pid, "held": held}
        self.kills.append(kill)
        return kill

    def _restart(self, name: str) -> dict[str, Any]:
        self._start_node(name)
        started = time.time()
        serving = wait_port(self.nodes[name].port, 60)
        # Reads sent to it are excused from the kill until its API answers again.
        for kill in self.kills:
            if kill["fault"] == f"SIGKILL {name}" and "restarted" not in kill:
                kill["restarted"] = started
                self.windows.append(Window(name, kill["at"], time.time() + 2, "node killed"))
        return {"fault": f"restart {name} (same node id: its MQTT session resumes)",
                "http_after_s": round(time.time() - started, 1) if serving else None}  # fmt: skip

    def _pause(self, name: str, seconds: float) -> dict[str, Any]:
        node = self.nodes[name]
        node.paused = True
        began = time.time()
        node.signal(signal.SIGSTOP)
        time.sleep(seconds)
        node.signal(signal.SIGCONT)
        node.paused = False
        ended = time.time()
        self.windows.append(Window(name, began, ended + 5, "node frozen"))
        return {"fault": f"SIGSTOP {name} for {seconds:.0f}s", "from": began, "to": ended,
                "pid": node.pids[-1]}  # fmt: skip

    def _restart_broker(self) -> dict[str, Any]:
        self.broker.stop()
        time.sleep(2)
        self.broker.start()
        return {"fault": "mosquitto restart"}

    def _restart_postgres(self) -> dict[str, Any]:
        began = time.time()
        down = self.pg.restart(3.0)
        # Requests in flight and the pools' reconnection right after: every node is excused.
        self.windows.append(Window(None, began, time.time() + 15, "postgres restart"))
        return {"fault": "postgresql restart", "down_s": round(down, 1)}

    # -- the end ------------------------------------------------------------------------

    @staticmethod
    def _generated(
        zk: TerminalPunches, push: PushTerminals, phones: PhoneProcess
    ) -> list[Generated]:
        # Every phone punch: a phone keeps it until a receipt comes back, re-sending it.
        return zk.generated() + push.generated() + list(phones.generated.values())

    def _drain(
        self, engine: Any, zk: TerminalPunches, push: PushTerminals, phones: PhoneProcess
    ) -> None:
        start = time.monotonic()
        while time.monotonic() - start < self.args.drain_timeout:
            with engine.connect() as conn:
                stored = stored_punches(conn)
            ids = {s.describe() for s in stored}
            if push.pending() == 0 and all(g.id in ids for g in self._generated(zk, push, phones)):
                time.sleep(3)  # a late duplicate would land now
                break
            time.sleep(2)
        self.report["drain_s"] = round(time.monotonic() - start, 1)

    def _check(
        self,
        engine: Any,
        zk: TerminalPunches,
        push: PushTerminals,
        phones: PhoneProcess,
        readers: HrReaders,
        faults: list[dict[str, Any]],
        paused: dict[str, Any],
        span: tuple[float, float],
    ) -> None:
        problems = self.report["problems"]
        with engine.connect() as conn:
            stored = stored_punches(conn)
            columns = (Quarantine.source_kind, Quarantine.device_code, Quarantine.reference)
            rows = conn.execute(select(*columns, Quarantine.reason, Quarantine.raw))
            quarantine = [QuarantineRow(*r) for r in rows]
        cmp = compare(self._generated(zk, push, phones), stored, self.malformed, quarantine)
        # Sessions overlapping another process's, leaving out the paused process's frozen span.
        frozen_pid, lo, hi = paused["pid"], paused["from"], paused["to"]
        sessions = {code: list(t.connections) for code, t in self.terminals.items()}
        bad: dict[str, list[tuple[object, object]]] = {}
        for code, conns in sessions.items():
            kept = [
                c
                for c in conns
                if not (c.who == frozen_pid and c.opened < hi and (c.closed or hi) > lo)
            ]
            found = overlaps(kept, deaths=self.deaths)
            if found:
                bad[code] = found
        unresolved = sum(1 for conns in sessions.values() for c in conns if c.who is None)
        with engine.connect() as conn:
            rows = conn.execute(select(Lease.key, Lease.owner, Lease.expires_at))
            leases = {k.split(":", 1)[1]: f"{o} until {e}" for k, o, e in rows}
        for kill in self.kills:
            times = takeovers(sessions, kill["held"], kill["at"], kill["pid"])
            late = [c for c, s in times.items() if s is None]
            taken = [s for s in times.values() if s is not None]
            kill.update(terminals=len(times), never_taken_over=len(late),
                        takeover_s=percentiles(taken))  # fmt: skip
            if late:  # which, how they are reached, and who holds them now
                kill["never_taken_over_examples"] = [
                    {"code": c, "device": self.devices[c], "lease": leases.get(c)}
                    for c in late[:10]
                ]
            kill.pop("held")
            if late:
                problems.append(f"{kill['fault']}: {len(late)} terminals never taken over")
        reads = reader_summary(readers.reads, self.windows)
        summary = cmp.as_dict()
        self.report.update(
            {
                "duration_s": self.args.duration,
                "terminals": len(self.terminals),
                "lease_s": self.args.lease,
                "poll_interval_s": self.args.poll_interval,
                "ledger": summary,
                "phones": {"planned": len(self.phone_codes), **phones.figures},
                "push_failovers": push.failovers(),
                "sessions": sum(len(c) for c in sessions.values()),
                "sessions_unattributed": unresolved,
                "owner_lookup_ms": round(
                    1000 * self.owners.seconds / max(self.owners.lookups, 1), 2
                ),
                "overlapping_sessions": {k: v[:3] for k, v in list(bad.items())[:20]},
                "overlapping_terminals": len(bad),
                # Polled terminals only: a live terminal holds one long session.
                "poll_gap_s": percentiles(
                    poll_gaps(
                        {c: v for c, v in sessions.items() if "live" not in self.devices[c]},
                        span[0] + 30,
                        span[1],
                    )
                ),
                "readers": reads,
                "faults": faults,
            }
        )
        if not cmp.ok:
            problems.append("punches missing, duplicated, mismatched or unexpected, "
                            "or quarantine unexplained (see ledger)")  # fmt: skip
        if bad:
            problems.append("two processes in session with one terminal at once")
        if reads["errors_unexcused"]:
            problems.append("HR reads failed against a node that was up")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the report."""
    ap = argparse.ArgumentParser(prog="python -m soak.fleet", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--short", action="store_true", help="the CI preset (~100 terminals, ~2.5 min)")
    ap.add_argument("--duration", type=float, help="seconds of traffic")
    ap.add_argument("--terminals", type=int, help="emulated ZK terminals")
    ap.add_argument("--live", type=int, help="of which hold a live session")
    ap.add_argument("--udp-share", type=float, help="share of terminals polled over UDP")
    ap.add_argument("--push", type=int, help="push terminals")
    ap.add_argument("--phones", type=int, help="phones, each punching once in the peak")
    ap.add_argument("--zk-rate", type=float, help="terminal punches a second, all together")
    ap.add_argument("--push-rate", type=float, help="push punches a second, all together")
    ap.add_argument("--lease", type=float, help="PUNCHGATE_LEASE_S")
    ap.add_argument("--poll-interval", type=float, help="each terminal's interval_s")
    ap.add_argument("--reader-pause", type=float, help="seconds between two HR reads")
    ap.add_argument("--garbage", type=int, help="malformed phone messages sent")
    ap.add_argument("--drain-timeout", type=float, default=240.0)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the logs")
    args = ap.parse_args(argv)
    for key, value in (SHORT if args.short else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report, status = FleetSoak(args).run()
    print(json.dumps(report, indent=2, default=str), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
