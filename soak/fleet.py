"""`python -m soak.fleet`: three collectors on one PostgreSQL and one Mosquitto, with faults.

A short fleet soak (docs/fleet.md): emulated ZK terminals punching, phones publishing to a
shared subscription, three `punchgate serve --roles poller,mqtt,days,retention` processes.
Faults: SIGKILL of one process (restarted later under the same node id), SIGSTOP of another
past its lease, a Mosquitto restart. Checks: every terminal punch and every phone message
stored once; no two processes in session with one terminal at once (from the emulators'
connection logs, each session traced to its process), the paused process excepted while it
was frozen; the takeover time after the kill. Prints one JSON report; exit 1 unless clean.

Not (yet) the issue's full soak: no push terminals, no HR readers, no PostgreSQL restart,
tens of terminals rather than a thousand.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select

from collector.config import apply_config, parse_config
from collector.runtime import utcnow
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from collector.store.models import Lease, Punch
from devices.mobile.topics import Topics
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import make_users
from soak.owners import SocketOwners, overlaps
from soak.procs import Children, Mosquitto, Postgres

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
KEY = "n1UQzNrqH0K9qV1yJ4f3l8rP6xw2sC5bE7dA0gH3kT4="  # the soak's own sealing key
NODES = ("node-a", "node-b", "node-c")
USERS = 20
PHONES = 500


class Node:
    """One `punchgate serve` process of the fleet, restartable under its node id."""

    def __init__(self, name: str, env: dict[str, str], root: Path, children: Children) -> None:
        self.name, self.env, self.children = name, {**os.environ, **env}, children
        self.env["PUNCHGATE_NODE_ID"] = name
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    def start(self) -> None:
        """Start (again)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [PUNCHGATE, "serve", "--roles", "poller,mqtt,days,retention"],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.children.track(self.proc)
        self.pids.append(self.proc.pid)

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
        self.topics = Topics(root=f"fleet{uuid.uuid4().hex[:6]}/punchgate/v1")
        self.published: set[str] = set()  # confirmed by the broker (PUBACK)
        self.unsent = 0  # refused by paho while the broker was away: never sent
        self.stop_traffic = threading.Event()
        self.nodes: dict[str, Node] = {}
        self.report: dict[str, Any] = {"problems": []}

    # -- setup --------------------------------------------------------------------------

    def _configure(self) -> None:
        engine = make_engine(self.pg.url)
        upgrade(engine)
        devices = []
        for i in range(self.args.terminals):
            code = f"zk-{i:03d}"
            terminal = Terminal(TerminalSpec(name=code, serial=f"FS-{i:05d}"), make_users(USERS))
            port = self.host.add(terminal)
            self.terminals[code] = terminal
            devices.append(
                {
                    "code": code,
                    "kind": "zk",
                    "host": "127.0.0.1",
                    "port": port,
                    "transport": "tcp",
                    "options": {"interval_s": 2},
                }
            )
        box = SecretBox(Settings(database_url=self.pg.url, config=None, secret_key=KEY))
        with make_sessionmaker(engine).begin() as session:
            people = [{"code": str(2000 + i), "name": f"Phone {i}"} for i in range(PHONES)]
            cfg = parse_config({"devices": devices, "employees": people})
            apply_config(session, cfg, now=utcnow(), box=box)
        engine.dispose()

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

    # -- traffic ------------------------------------------------------------------------

    def _terminal_traffic(self) -> None:
        rng = random.Random(1)
        codes = sorted(self.terminals)
        last: dict[str, datetime] = {}
        while not self.stop_traffic.wait(1 / self.args.zk_rate):
            code = rng.choice(codes)
            user = str(1001 + rng.randrange(USERS))
            terminal = self.terminals[code]
            when = terminal.now()
            if last.get(user) == when:
                # One person in one second is one punch, on any terminal (the dedupe key is
                # the employee and the wall-clock second): generate no such pair.
                continue
            last[user] = when
            terminal.punch(user)

    def _phone_traffic(self) -> None:
        pub = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"phones-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        pub.max_inflight_messages_set(1000)
        pub.max_queued_messages_set(0)
        pub.reconnect_delay_set(1, 2)
        pub.connect("127.0.0.1", self.broker.port)
        pub.loop_start()
        n = 0
        start = datetime.now(UTC) - timedelta(minutes=5)
        unconfirmed: dict[str, mqtt.MQTTMessageInfo] = {}
        while not self.stop_traffic.wait(1 / self.args.phone_rate):
            mid = f"fs-{n}"
            body = {
                "schema_version": 1,
                "id": mid,
                "lat": 52.52,
                "lon": 13.405,
                "acc": 10,
                "ts": (start + timedelta(milliseconds=n)).isoformat(),
                "kind": "auto",
            }
            info = pub.publish(self.topics.punch(str(2000 + n % PHONES)), json.dumps(body), qos=1)
            unconfirmed[mid] = info
            n += 1
            self._settle(unconfirmed)
        deadline = time.monotonic() + 60
        while unconfirmed and time.monotonic() < deadline:
            self._settle(unconfirmed)
            time.sleep(0.2)
        # A publish the broker never confirmed (it was restarting) may or may not be there.
        self.report["phone_publishes_unconfirmed"] = len(unconfirmed)
        self.report["phone_publishes_unsent"] = self.unsent
        pub.disconnect()
        pub.loop_stop()

    def _settle(self, unconfirmed: dict[str, mqtt.MQTTMessageInfo]) -> None:
        """Move confirmed publishes to `published`; ones paho gave up on are dropped."""
        for key, info in list(unconfirmed.items()):
            try:
                done = info.is_published()
            except (RuntimeError, ValueError):  # not sent: the broker was restarting
                self.unsent += 1
                del unconfirmed[key]
                continue
            if done:
                self.published.add(key)
                del unconfirmed[key]

    # -- run ----------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], int]:
        """Everything, every child killed at the end."""
        try:
            return self._run()
        finally:
            self.stop_traffic.set()
            for node in self.nodes.values():
                node.stop()
            self.host.stop()
            self.broker.stop()
            self.children.kill_all()
            if not self.args.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self) -> tuple[dict[str, Any], int]:
        a = self.args
        self.pg.init()
        self.broker.init()
        self.host.start()
        self._configure()
        env = self._env()
        for name in NODES:
            self.nodes[name] = node = Node(name, env, self.tmp, self.children)
            node.start()
            self.owners.pids.add(node.pids[-1])
        engine = make_engine(self.pg.url)
        self._wait(lambda: self._balanced(engine), 120, "the fleet never balanced")
        t0 = time.monotonic()
        traffic = [
            threading.Thread(target=self._terminal_traffic, daemon=True),
            threading.Thread(target=self._phone_traffic, daemon=True),
        ]
        for t in traffic:
            t.start()
        d = a.duration
        faults: list[dict[str, Any]] = []
        self._sleep_until(t0 + 0.2 * d)
        faults.append(self._kill("node-b", engine))
        self._sleep_until(t0 + 0.45 * d)
        faults.append(self._restart("node-b"))
        self._sleep_until(t0 + 0.55 * d)
        paused = self._pause("node-c", 2 * a.lease + 2)
        faults.append(paused)
        self._sleep_until(t0 + 0.75 * d)
        faults.append(self._restart_broker())
        self._sleep_until(t0 + d)
        self.stop_traffic.set()
        for t in traffic:
            t.join(90)
        self._drain(engine)
        self._check(engine, faults, paused)
        engine.dispose()
        ok = not self.report["problems"]
        self.report["ok"] = ok
        return self.report, 0 if ok else 1

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

    def _kill(self, name: str, engine: Any) -> dict[str, Any]:
        node = self.nodes[name]
        with engine.connect() as conn:
            held = [
                k.split(":", 1)[1]
                for k in conn.scalars(
                    select(Lease.key).where(Lease.owner == name, Lease.key.like("terminal:%"))
                )
            ]
        killed = time.time()
        node.signal(signal.SIGKILL)
        assert node.proc is not None
        node.proc.wait(10)
        self.children.forget(node.proc)
        node.proc = None  # killed on purpose, not an exit of its own
        firsts: dict[str, float] = {}
        end = time.monotonic() + 6 * self.args.lease + 30
        while len(firsts) < len(held) and time.monotonic() < end:
            for code in held:
                after = [c.opened for c in self.terminals[code].connections if c.opened > killed]
                if after and code not in firsts:
                    firsts[code] = round(min(after) - killed, 2)
            time.sleep(0.2)
        if len(firsts) < len(held):
            self.report["problems"].append("a killed node's terminal was never taken over")
        takeover = max(firsts.values()) if firsts else None
        self.report["takeover_after_sigkill_s"] = takeover
        return {"fault": f"SIGKILL {name}", "terminals": len(held), "takeover_s": takeover}

    def _restart(self, name: str) -> dict[str, Any]:
        node = self.nodes[name]
        node.start()
        self.owners.pids.add(node.pids[-1])
        return {"fault": f"restart {name} (same node id: its MQTT session resumes)"}

    def _pause(self, name: str, seconds: float) -> dict[str, Any]:
        node = self.nodes[name]
        node.signal(signal.SIGSTOP)
        began = time.time()
        time.sleep(seconds)
        node.signal(signal.SIGCONT)
        return {
            "fault": f"SIGSTOP {name} for {seconds:.0f}s",
            "from": began,
            "to": time.time(),
            "pid": node.pids[-1],
        }

    def _restart_broker(self) -> dict[str, Any]:
        self.broker.stop()
        time.sleep(2)
        self.broker.start()
        return {"fault": "mosquitto restart"}

    # -- the end ------------------------------------------------------------------------

    def _expected_terminal(self) -> dict[str, int]:
        return {c: len(set(t.ledger)) for c, t in self.terminals.items()}

    def _stored(self, engine: Any) -> tuple[dict[str, int], set[str]]:
        with engine.connect() as conn:
            by_device = dict(
                conn.execute(
                    select(Punch.device_code, func.count())
                    .where(Punch.source_kind == "terminal")
                    .group_by(Punch.device_code)
                ).all()
            )
            refs = set(conn.scalars(select(Punch.source_ref).where(Punch.source_kind == "mobile")))
        return by_device, refs

    def _drain(self, engine: Any) -> None:
        start = time.monotonic()
        while time.monotonic() - start < self.args.drain_timeout:
            by_device, refs = self._stored(engine)
            expected = self._expected_terminal()
            if all(by_device.get(c, 0) >= n for c, n in expected.items()) and self.published <= {
                r.split(":")[-1] for r in refs if r
            }:
                time.sleep(3)  # a late duplicate would land now
                break
            time.sleep(1)
        self.report["drain_s"] = round(time.monotonic() - start, 1)

    def _check(self, engine: Any, faults: list[dict[str, Any]], paused: dict[str, Any]) -> None:
        by_device, refs = self._stored(engine)
        expected = self._expected_terminal()
        stored_ids = {r.split(":")[-1] for r in refs if r}
        with engine.connect() as conn:
            mobile_rows = conn.scalar(
                select(func.count()).select_from(Punch).where(Punch.source_kind == "mobile")
            )
        missing_t = {
            c: n - by_device.get(c, 0) for c, n in expected.items() if by_device.get(c, 0) < n
        }
        extra_t = {
            c: by_device.get(c, 0) - n for c, n in expected.items() if by_device.get(c, 0) > n
        }
        missing_p = sorted(self.published - stored_ids)
        # Sessions overlapping another process's, leaving out the paused process's frozen span.
        frozen_pid, lo, hi = paused["pid"], paused["from"], paused["to"]
        bad: dict[str, list[tuple[object, object]]] = {}
        for code, t in self.terminals.items():
            conns = [
                c
                for c in t.connections
                if not (c.who == frozen_pid and c.opened < hi and (c.closed or hi) > lo)
            ]
            found = overlaps(conns)
            if found:
                bad[code] = found
        unresolved = sum(1 for t in self.terminals.values() for c in t.connections if c.who is None)
        self.report.update(
            {
                "duration_s": self.args.duration,
                "terminals": len(self.terminals),
                "lease_s": self.args.lease,
                "terminal_punches_generated": sum(expected.values()),
                "terminal_punches_stored": sum(by_device.values()),
                "terminal_missing": missing_t,
                "terminal_extra": extra_t,
                "phone_messages_confirmed": len(self.published),
                "phone_punches_stored": mobile_rows,
                "phone_distinct_stored": len(stored_ids),
                "phone_missing": missing_p[:20],
                "phone_missing_count": len(missing_p),
                "sessions": sum(len(t.connections) for t in self.terminals.values()),
                "sessions_unattributed": unresolved,
                "overlapping_sessions": bad,
                "faults": faults,
            }
        )
        problems = self.report["problems"]
        if missing_t or extra_t:
            problems.append("terminal punches missing or extra")
        if missing_p or mobile_rows != len(stored_ids):
            problems.append("phone punches missing or duplicated")
        if bad:
            problems.append("two processes in session with one terminal at once")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the report."""
    ap = argparse.ArgumentParser(prog="python -m soak.fleet", description=__doc__)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of traffic")
    ap.add_argument("--terminals", type=int, default=12)
    ap.add_argument("--lease", type=float, default=6.0, help="PUNCHGATE_LEASE_S")
    ap.add_argument("--zk-rate", type=float, default=5.0, help="terminal punches a second")
    ap.add_argument("--phone-rate", type=float, default=20.0, help="phone punches a second")
    ap.add_argument("--drain-timeout", type=float, default=180.0)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the logs")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report, status = FleetSoak(args).run()
    print(json.dumps(report, indent=2, default=str), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
