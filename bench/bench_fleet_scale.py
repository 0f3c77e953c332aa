"""Phone punches into PostgreSQL with 1, 2 and 3 `punchgate serve --roles mqtt` processes.

Each process is a member of one MQTT 5 shared subscription (PUNCHGATE_MQTT_SHARE_GROUP,
no ingest child: it decides, stores and acks itself; docs/fleet.md). Per fleet size k, on
a broker of our own: the k members connect once (persistent sessions) and stop, a backlog
is published (Mosquitto deals it round-robin over the group's sessions), then the k
members start together and we time from the moment the last of them is online until every
punch is stored (count(*) on punches). Beside it, the same backlog drained by a group of k
bare paho subscribers, each a process of its own, timed the same way (from the last
member's CONNACK). Reports the curve (stored/s against k) and the ratio to bare paho per
process; the issue asks ≥ 0.5× per process (judged at a 30,000 backlog). Also the CPU per
stored punch of the members, their PostgreSQL backends and Mosquitto, and what 2 whole
cores would carry at that cost. No target is judged on the curve itself: this machine has
2 cores shared with Mosquitto, PostgreSQL and the benchmark. Each run starts from an empty
punches table; `--people` sets how many phones the backlog cycles through.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

from bench_mqtt import client, cpu_s, payload, start_mosquitto
from common import PG_URL, emit, fresh_pg_database, load_average, seed_phone_company, target
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Connection, create_engine, text

from devices.mobile.topics import Topics

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
TARGET_BACKLOG, TARGET_RATIO = 30_000, 0.5

# One bare member, run as `python -c`: a persistent shared session; the first run only
# subscribes, the second drains and prints its CONNACK time and each message's arrival.
BARE = """
import json, sys, threading, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
port, cid, wanted, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
props = Properties(PacketTypes.CONNECT)
props.SessionExpiryInterval = 3600
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=MQTTProtocolVersion.MQTTv5)
c.max_inflight_messages_set(1000)
c.max_queued_messages_set(0)
times, online, cpu0, ready = [], [], [], threading.Event()
c.on_message = lambda _c, _u, _m: times.append(time.time())
def on_connect(_c, _u, _f, _rc, _p):
    online.append(time.time())
    cpu0.append(time.process_time())
    ready.set()
c.on_connect = on_connect
c.connect("127.0.0.1", port, clean_start=False, properties=props)
c.loop_start()
ready.wait(30)
if mode == "subscribe":
    c.subscribe(wanted, options=SubscribeOptions(qos=1))
    time.sleep(0.5)
else:
    while not times or time.time() - times[-1] < 3:
        time.sleep(0.2)
cpu = time.process_time() - cpu0[0]
c.disconnect()
c.loop_stop()
print(json.dumps({"online": online[0], "times": times, "cpu_s": cpu}))
"""


def publish_backlog(port: int, topics: Topics, count: int, tag: str, people: int) -> None:
    """`count` QoS 1 punches, phone after phone (each of `people` in turn), all confirmed."""
    pub = client(f"pub-{uuid.uuid4().hex[:8]}", port)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [
        pub.publish(topics.punch(str(1001 + n % people)), payload(n, tag), qos=1)
        for n in range(count)
    ]
    for info in infos:
        info.wait_for_publish(60)
    pub.disconnect()
    pub.loop_stop()


def bare_group(port: int, k: int, topics: Topics, count: int, people: int) -> dict[str, float]:
    """k bare paho members of a fresh group drain `count` punches; their rate and CPU."""
    group = f"bare{uuid.uuid4().hex[:6]}"
    wanted = f"$share/{group}/{topics.subscriptions()[0]}"
    cids = [f"{group}-{i}" for i in range(k)]

    def run(mode: str) -> list[dict[str, Any]]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", BARE, str(port), cid, wanted, mode],
                stdout=subprocess.PIPE,
                text=True,
            )
            for cid in cids
        ]
        return [json.loads(p.communicate(timeout=600)[0]) for p in procs]

    run("subscribe")
    publish_backlog(port, topics, count, group, people)
    out = run("drain")
    times = sorted(t for o in out for t in o["times"])
    if len(times) != count:
        raise RuntimeError(f"bare group got {len(times)} of {count}")
    t0 = max(float(o["online"]) for o in out)
    after = [t for t in times if t >= t0]
    return {
        "per_s": len(after) / (times[-1] - t0),
        "cpu_us_per_punch": 1e6 * sum(float(o["cpu_s"]) for o in out) / count,
    }


class Fleet:
    """k `serve --roles mqtt` members on one database and broker, startable together."""

    def __init__(self, k: int, port: int, url: str, topics: Topics, log: Path) -> None:
        self.k, self.port, self.url, self.topics, self.log = k, port, url, topics, log
        self.cid = f"fs{uuid.uuid4().hex[:6]}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.online: dict[str, float] = {}
        self.watcher = client(f"watch-{self.cid}", port)
        self.watcher.on_message = self._status
        self.watcher.connect("127.0.0.1", port)
        self.watcher.subscribe(f"{topics.root}/status/+", options=SubscribeOptions(qos=1))
        self.watcher.loop_start()

    def _status(self, _c: object, _u: object, m: object) -> None:
        if getattr(m, "payload", b"") == b"online":
            self.online[str(getattr(m, "topic", ""))] = time.time()

    def start(self) -> float:
        """Start the k members; the time the last of them came online."""
        self.online.clear()
        with self.log.open("ab") as out:
            for i in range(self.k):
                env = {
                    **{k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")},
                    "PUNCHGATE_DATABASE_URL": self.url,
                    "PUNCHGATE_MQTT_URL": f"mqtt://127.0.0.1:{self.port}",
                    "PUNCHGATE_MQTT_CLIENT_ID": self.cid,
                    "PUNCHGATE_MQTT_TOPIC_ROOT": self.topics.root,
                    "PUNCHGATE_MQTT_OWNTRACKS_ROOT": self.topics.owntracks_root,
                    "PUNCHGATE_MQTT_SHARE_GROUP": "punchgate",
                    "PUNCHGATE_MQTT_INGEST_PROCESS": "false",
                    "PUNCHGATE_NODE_ID": f"n{i}",
                    "PUNCHGATE_LOG_LEVEL": "WARNING",
                }
                self.procs.append(
                    subprocess.Popen(
                        [PUNCHGATE, "serve", "--roles", "mqtt"], env=env, stdout=out, stderr=out
                    )
                )
        deadline = time.monotonic() + 120
        while len(self.online) < self.k:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"members did not come online: {self.log}")
            time.sleep(0.05)
        return max(self.online.values())

    def stop(self) -> None:
        """SIGTERM every member (their sessions stay with the broker)."""
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(60)
        self.procs.clear()

    def close(self) -> None:
        """Stop and drop the watcher."""
        self.stop()
        self.watcher.disconnect()
        self.watcher.loop_stop()


def backends(conn: Connection) -> dict[int, float]:
    """CPU seconds so far of the database's other server processes (the members')."""
    pids = conn.execute(
        text(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    ).scalars()
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[int(pid)] = cpu_s(int(pid))
    return out


def ours(
    port: int, k: int, url: str, count: int, people: int, log: Path, broker: int
) -> dict[str, float]:
    """k members drain `count` punches into PostgreSQL; stored/s and CPU per punch."""
    topics = Topics(root=f"s{uuid.uuid4().hex[:6]}/punchgate/v1", owntracks_root="bench-ot")
    fleet = Fleet(k, port, url, topics, log)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        fleet.start()
        fleet.stop()
        with engine.begin() as conn:
            # Every run starts from an empty table: a phone's first punch in a process looks
            # up its last fix in `punches`, a cost that grows with the table (bench_history).
            conn.execute(text("TRUNCATE punches, dirty_days"))
        before = 0
        publish_backlog(port, topics, count, topics.root.split("/")[0], people)
        t0 = fleet.start()
        cpu0 = sum(cpu_s(p.pid) for p in fleet.procs)
        broker0 = cpu_s(broker)
        with engine.connect() as conn:
            pg0 = backends(conn)
            n0 = int(conn.execute(text("SELECT count(*) FROM punches")).scalar_one())
            deadline = time.monotonic() + 600
            n = n0
            while n < before + count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {n - before} of {count} stored")
                time.sleep(0.1)
                n = int(conn.execute(text("SELECT count(*) FROM punches")).scalar_one())
                conn.commit()
            t1 = time.time()
            cpu = sum(cpu_s(p.pid) for p in fleet.procs) - cpu0
            broker_cpu = cpu_s(broker) - broker0
            # Backends opened during the drain count from zero (their whole life is in it).
            pg = sum(v - pg0.get(pid, 0.0) for pid, v in backends(conn).items())
    finally:
        fleet.close()
        engine.dispose()
    return {
        "per_s": (before + count - n0) / (t1 - t0),
        "cpu_us_per_punch": 1e6 * cpu / (before + count - n0),
        "postgres_cpu_us_per_punch": 1e6 * pg / (before + count - n0),
        "broker_cpu_us_per_punch": 1e6 * broker_cpu / (before + count - n0),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=12_000, help="backlog per fleet size")
    ap.add_argument("--max-processes", type=int, default=3)
    ap.add_argument("--people", type=int, default=200, help="phones (employees) punching")
    ap.add_argument("--rounds", type=int, default=1, help="bare/ours pairs per size (median)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-scale-"))
    url = fresh_pg_database(PG_URL.rsplit("/", 1)[0] + "/punchgate_bench_fleet_scale")
    if url is None:
        emit({"benchmark": "fleet_scale", "skipped": "PostgreSQL unreachable", "targets": []})
        return
    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    seed_phone_company(url, args.people)
    broker, port = start_mosquitto(tmp)
    curve: list[dict[str, Any]] = []
    try:
        for k in range(1, args.max_processes + 1):
            pairs = []
            for _ in range(args.rounds):
                bare_topics = Topics(root=f"b{uuid.uuid4().hex[:6]}/punchgate/v1")
                bare = bare_group(port, k, bare_topics, args.count, args.people)
                mine = ours(
                    port, k, url, args.count, args.people, tmp / f"fleet-{k}.log", broker.pid
                )
                pairs.append((mine, bare))
            mine = {m: statistics.median(p[0][m] for p in pairs) for m in pairs[0][0]}
            bare = {m: statistics.median(p[1][m] for p in pairs) for m in pairs[0][1]}
            ratio = statistics.median(a["per_s"] / b["per_s"] for a, b in pairs)
            # What 2 whole cores would carry at this CPU per punch (member, PostgreSQL, broker).
            per_punch = sum(mine[m] for m in mine if m.endswith("cpu_us_per_punch"))
            curve.append({
                "processes": k,
                "stored_per_s": round(mine["per_s"]),
                "bare_paho_per_s": round(bare["per_s"]),
                "ratio_vs_bare": round(ratio, 3),
                "rounds_stored_per_s": [round(a["per_s"]) for a, _ in pairs],
                "cpu_us_per_punch": round(mine["cpu_us_per_punch"], 1),
                "postgres_cpu_us_per_punch": round(mine["postgres_cpu_us_per_punch"], 1),
                "broker_cpu_us_per_punch": round(mine["broker_cpu_us_per_punch"], 1),
                "bare_cpu_us_per_punch": round(bare["cpu_us_per_punch"], 1),
                "ceiling_on_2_cores_per_s": round(2e6 / per_punch),
                "load_average": load_average(),
            })  # fmt: skip
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    one = curve[0]["stored_per_s"]
    at_size = args.count >= TARGET_BACKLOG
    emit(
        {
            "benchmark": "fleet_scale",
            "backend": "postgresql",
            "backlog": args.count,
            "people": args.people,
            "curve": curve,
            "speedup_vs_one": [round(c["stored_per_s"] / one, 2) for c in curve],
            "targets": [
                target(
                    f"MQTT shared member vs bare paho, {c['processes']} process(es) (×)",
                    f"≥ {TARGET_RATIO:g}",
                    c["ratio_vs_bare"],
                    c["ratio_vs_bare"] >= TARGET_RATIO,
                    at_size=at_size,
                )
                for c in curve
            ],
        }
    )


if __name__ == "__main__":
    main()
