"""Phone punches through Mosquitto into SQLite: drain rate vs a bare paho subscriber, and
publish → stored → receipt latency at a steady 500 punches/s.

Both receivers drain the same backlog from the same broker in the same run, in alternating
rounds (the median ratio is the figure): N punches are queued for an offline persistent
session, then the receiver connects and we time until the last one is received (bare
paho) or committed (punchgate: `punchgate mqtt consume` as a process of its own, with its
ingest child process); and the CPU time each process spent per punch during its drain.
Prints one JSON object. Targets: at least 3,000 punches/s and half the bare subscriber's
rate; every receipt back, with p99 at most 100 ms, at 500 punches/s.

`--shared` measures the fleet's design instead (docs/fleet.md): one member of an MQTT 5
shared subscription (`$share/punchgate/…`), an ordinary process that decides, stores and
acks itself (no ingest child), against a bare paho subscriber that is a shared member too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from common import emit, seed_phone_company, target
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from devices.mobile.topics import Topics

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
PEOPLE = 200
TARGET_BACKLOG, TARGET_PER_S, TARGET_RATIO = 20_000, 3000, 0.5
TARGET_RATE, TARGET_SECONDS, TARGET_P99_MS = 500.0, 10.0, 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_mosquitto(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def client(cid: str, port: int, **kw: Any) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=cid, protocol=MQTTProtocolVersion.MQTTv5, **kw
    )
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


def session_props() -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    return props


def payload(n: int, tag: str) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "id": f"{tag}-{n}",
            "ts": datetime.now(UTC).isoformat(),
            "lat": 52.5201 + (n % 113) * 1e-6,
            "lon": 13.4051 + (n % 89) * 1e-6,
            "acc": 12,
            "kind": "auto",
            "device": "bench",
        }
    ).encode()


def publish_backlog(port: int, topics: Topics, count: int, tag: str) -> float:
    pub = client(f"pub-{uuid.uuid4().hex[:8]}", port)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    t0 = time.perf_counter()
    infos = [
        pub.publish(topics.punch(str(1001 + n % PEOPLE)), payload(n, tag), qos=1)
        for n in range(count)
    ]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - t0
    pub.disconnect()
    pub.loop_stop()
    return count / elapsed


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_child(pid: int) -> int | None:
    """The consumer's ingest process (a spawned child that is not the resource tracker)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for kid in kids:
        cmd = Path(f"/proc/{kid}/cmdline").read_bytes()
        if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
            return int(kid)
    return None


def bare_drain(port: int, topics: Topics, count: int, shared: bool) -> tuple[float, float]:
    """A bare paho subscriber: QoS 1, persistent session, paho's automatic PUBACK."""
    cid = f"bare-{uuid.uuid4().hex[:8]}"
    got = 0
    done = threading.Event()
    first = last = 0.0

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        if got == count:
            last = time.perf_counter()
            done.set()

    sub = client(cid, port)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port, clean_start=False, properties=session_props())
    wanted = topics.subscriptions()[0]
    # A group of its own per round: an earlier round's offline session in the same group would
    # be dealt half the backlog (Mosquitto deals to offline members too; docs/fleet.md).
    group = f"$share/{cid}/{wanted}"
    sub.subscribe(group if shared else wanted, options=SubscribeOptions(qos=1))
    sub.loop_start()
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()
    publish_backlog(port, topics, count, "bare")
    sub = client(cid, port)
    sub.on_message = on_message
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    sub.connect("127.0.0.1", port, clean_start=False, properties=session_props())
    sub.loop_start()
    if not done.wait(300):
        raise RuntimeError(f"bare subscriber got {got} of {count}")
    cpu = time.process_time() - cpu0  # this process only runs the subscriber meanwhile
    sub.disconnect()
    sub.loop_stop()
    return count / (last - t0), cpu / count


def stored(db: Path) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return int(con.execute("SELECT count(*) FROM punches").fetchone()[0])
    finally:
        con.close()


def wait_stored(db: Path, target: int, timeout: float) -> float:
    end = time.monotonic() + timeout
    while True:
        n = stored(db)
        if n >= target:
            return time.perf_counter()
        if time.monotonic() > end:
            raise RuntimeError(f"only {n} of {target} stored")
        time.sleep(0.2)  # polling is a reader on the same file: keep it rare


def latency_run(port: int, topics: Topics, rate: float, seconds: float) -> list[float]:
    """Publish at a steady rate; seconds from publish to the phone holding its receipt."""
    sent: dict[str, float] = {}
    lat: list[float] = []
    phone = client(f"phone-{uuid.uuid4().hex[:6]}", port)

    def on_receipt(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        body = json.loads(m.payload)
        t = sent.get(body.get("id"))
        if t is not None and body["status"] == "accepted":
            lat.append(time.perf_counter() - t)

    phone.on_message = on_receipt
    phone.connect("127.0.0.1", port)
    phone.subscribe(f"{topics.root}/ack/#", options=SubscribeOptions(qos=1))
    phone.loop_start()
    time.sleep(0.5)
    total = int(rate * seconds)
    start = time.perf_counter()
    for n in range(total):
        pause = start + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        body = payload(n, "lat")
        sent[f"lat-{n}"] = time.perf_counter()
        phone.publish(topics.punch(str(1001 + n % PEOPLE)), body, qos=1)
    end = time.monotonic() + 30
    while len(lat) < total and time.monotonic() < end:
        time.sleep(0.05)
    phone.disconnect()
    phone.loop_stop()
    return sorted(lat)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=TARGET_BACKLOG, help="backlog for the drain")
    ap.add_argument("--rate", type=float, default=TARGET_RATE, help="steady rate for latency")
    ap.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="latency run length")
    ap.add_argument("--rounds", type=int, default=3, help="bare/ours drain pairs")
    ap.add_argument("--shared", action="store_true", help="one shared-subscription member")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker, port = start_mosquitto(tmp)
    db = tmp / "bench.sqlite3"
    seed_phone_company(f"sqlite:///{db}", PEOPLE)
    topics = Topics(root=f"b{uuid.uuid4().hex[:6]}/punchgate/v1", owntracks_root="bench-ot")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")},
        "PUNCHGATE_DATABASE_URL": f"sqlite:///{db}",
        "PUNCHGATE_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "PUNCHGATE_MQTT_CLIENT_ID": "bench-collector",
        "PUNCHGATE_MQTT_TOPIC_ROOT": topics.root,
        "PUNCHGATE_MQTT_OWNTRACKS_ROOT": topics.owntracks_root,
        "PUNCHGATE_LOG_LEVEL": "WARNING",
    }
    status_id = "bench-collector"
    if args.shared:
        env |= {
            "PUNCHGATE_MQTT_SHARE_GROUP": "punchgate",
            "PUNCHGATE_MQTT_INGEST_PROCESS": "false",
            "PUNCHGATE_NODE_ID": "bench",
        }
        status_id = "bench-collector-bench"  # a member's client id carries its node id
    consumer: subprocess.Popen[bytes] | None = None
    watcher = client("watch", port)
    online = threading.Event()
    watcher.on_message = lambda _c, _u, m: online.set() if m.payload == b"online" else None
    watcher.connect("127.0.0.1", port)
    watcher.subscribe(topics.status(status_id), options=SubscribeOptions(qos=1))
    watcher.loop_start()

    def launch() -> subprocess.Popen[bytes]:
        online.clear()
        proc = subprocess.Popen([PUNCHGATE, "mqtt", "consume"], env=env)
        if not online.wait(60):
            raise RuntimeError("consumer did not come online")
        return proc

    try:
        # 1. Latency at a steady rate (publish → committed → receipt back at the phone).
        consumer = launch()
        lat = latency_run(port, topics, args.rate, args.seconds)
        # 2. Drains, alternating bare and ours so both see the machine at the same speed
        #    (a shared VM's speed drifts by a third within minutes): per round, the bare
        #    subscriber drains a backlog; then the consumer (its session kept) is stopped,
        #    the backlog queued, and its drain timed from its connection ("online"), as the
        #    bare one is from connect.
        rounds = []
        for r in range(args.rounds):
            bare, bare_cpu = bare_drain(port, topics, args.count, args.shared)
            consumer.terminate()
            consumer.wait(30)
            before = stored(db)
            publish_rate = publish_backlog(port, topics, args.count, f"drain{r}")
            consumer = launch()
            child = ingest_child(consumer.pid)
            found = {"consumer": consumer.pid, "ingest_process": child, "mosquitto": broker.pid}
            pids = {k: v for k, v in found.items() if v is not None}
            cpu0 = {k: cpu_s(v) for k, v in pids.items()}
            t0 = time.perf_counter()
            t1 = wait_stored(db, before + args.count, 600)
            ours = args.count / (t1 - t0)
            cpu_us = {k: round((cpu_s(pids[k]) - v) / args.count * 1e6, 1) for k, v in cpu0.items()}
            rounds.append({
                "publish_rate_per_s": round(publish_rate),
                "bare_paho_receive_per_s": round(bare),
                "punchgate_stored_per_s": round(ours),
                "ratio_vs_bare": round(ours / bare, 3),
                "cpu_us_per_punch": {"bare_paho": round(bare_cpu * 1e6, 1), **cpu_us},
            })  # fmt: skip
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [float("nan")] * 99
        stored_rate = statistics.median(x["punchgate_stored_per_s"] for x in rounds)
        ratio = statistics.median(x["ratio_vs_bare"] for x in rounds)
        sent, p99 = int(args.rate * args.seconds), round(q[98] * 1000, 2)
        emit(
            {
                "bench": "mqtt",
                "broker": "mosquitto (private, 127.0.0.1), MQTT 5, QoS 1",
                "mode": "shared-subscription member, no ingest child" if args.shared else "default",
                "store": "sqlite",
                "backlog": args.count,
                "punchgate_stored_per_s_median": stored_rate,
                "ratio_vs_bare_median": ratio,
                "rounds": rounds,
                "latency_rate_per_s": args.rate,
                "latency_sent": sent,
                "latency_samples": len(lat),
                "latency_p50_ms": round(q[49] * 1000, 2),
                "latency_p99_ms": p99,
                "latency_max_ms": round(lat[-1] * 1000, 2) if lat else None,
                "targets": [
                    target(
                        f"MQTT drain of {args.count:,} into SQLite, median (punches/s)",
                        f"≥ {TARGET_PER_S:,}",
                        stored_rate,
                        stored_rate >= TARGET_PER_S,
                        at_size=args.count >= TARGET_BACKLOG,
                    ),
                    target(
                        "MQTT drain vs a bare paho subscriber, median (×)",
                        f"≥ {TARGET_RATIO}",
                        ratio,
                        ratio >= TARGET_RATIO,
                        at_size=args.count >= TARGET_BACKLOG,
                    ),
                    target(
                        f"publish → receipt p99 at {args.rate:g}/s, all receipts back (ms)",
                        f"≤ {TARGET_P99_MS:g} at {TARGET_RATE:g}/s",
                        p99,
                        len(lat) == sent and p99 <= TARGET_P99_MS,
                        at_size=args.rate >= TARGET_RATE and args.seconds >= TARGET_SECONDS,
                    ),
                ],
            }
        )
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(30)
        watcher.disconnect()
        watcher.loop_stop()
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
