"""Terminals per process: one `punchgate serve --roles poller` polling N idle ZK terminals.

N idle emulated terminals (EmulatorHost, in this process) are configured in a fresh
database (PostgreSQL when reachable, else SQLite), each polled every `--interval` seconds.
After the first round (which reads identities and users) we read the serve process's CPU
from /proc/<pid>/stat over `--rounds` intervals and count the polls it made from the
terminals' own connection logs. Beside it, in the same run, the floor: pyzk alone
(connect, get_attendance, disconnect) against the same terminals, in a process of its own,
on 16 threads, CPU per poll. Target: 1,000 terminals once a minute on ≤ 1 core. The
default (200 terminals every 12 s) makes the same 16.7 polls/s; judged only at size
(`--terminals 1000 --interval 60`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

from common import PG_URL, emit, fresh_pg_database, load_average, target

from collector.config import apply_config, parse_config
from collector.runtime import utcnow
from collector.sealing import SecretBox
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import make_users

PUNCHGATE = str(Path(sys.executable).parent / "punchgate")
KEY = "n1UQzNrqH0K9qV1yJ4f3l8rP6xw2sC5bE7dA0gH3kT4="  # the benchmark's own sealing key
TARGET_TERMINALS, TARGET_INTERVAL_S, TARGET_CORES = 1000, 60.0, 1.0
USERS = 20

# The floor, run as `python -c`: pyzk's whole poll against every port, CPU of that process.
FLOOR = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from zk import ZK
ports = json.loads(sys.argv[1])
def poll(port):
    conn = ZK("127.0.0.1", port=port, timeout=10, ommit_ping=True).connect()
    try:
        conn.get_attendance()
    finally:
        conn.disconnect()
cpu, wall = time.process_time(), time.perf_counter()
with ThreadPoolExecutor(16) as pool:
    list(pool.map(poll, ports))
print(json.dumps({"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}))
"""


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sessions_between(terminals: list[Terminal], start: float, end: float) -> int:
    """Client sessions the terminals saw open in [start, end) (each poll is one)."""
    return sum(
        1 for t in terminals for c in list(t.connections) if start <= c.opened < end
    )  # fmt: skip


def configure(url: str, ports: list[int], interval: float) -> None:
    """Migrate and configure one ZK device per port, polled every `interval` seconds."""
    engine = make_engine(url)
    upgrade(engine)
    devices = [
        {
            "code": f"zk-{i:04d}",
            "kind": "zk",
            "host": "127.0.0.1",
            "port": port,
            "transport": "tcp",
            "options": {"interval_s": interval},
        }
        for i, port in enumerate(ports)
    ]
    box = SecretBox(Settings(database_url=url, config=None, secret_key=KEY))
    with make_sessionmaker(engine).begin() as session:
        apply_config(session, parse_config({"devices": devices}), now=utcnow(), box=box)
    engine.dispose()


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--interval", type=float, default=12.0, help="poll interval (s)")
    parser.add_argument("--rounds", type=int, default=3, help="intervals measured")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-poll-"))
    url = fresh_pg_database(PG_URL.rsplit("/", 1)[0] + "/punchgate_bench_fleet_poll")
    backend = "postgresql" if url else "sqlite"
    url = url or f"sqlite:///{folder / 'bench.sqlite3'}"
    host = EmulatorHost().start()
    terminals = [
        Terminal(TerminalSpec(name=f"zk-{i:04d}", serial=f"FB-{i:05d}"), make_users(USERS))
        for i in range(args.terminals)
    ]
    ports = [host.add(t) for t in terminals]
    configure(url, ports, args.interval)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")},
        "PUNCHGATE_DATABASE_URL": url,
        "PUNCHGATE_SECRET_KEY": KEY,
        "PUNCHGATE_NODE_ID": "bench-poller",
        "PUNCHGATE_LOG_LEVEL": "WARNING",
    }
    with (folder / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [PUNCHGATE, "serve", "--roles", "poller"], env=env, stdout=log, stderr=log
        )
    try:
        # Warm-up: every terminal polled once (identities, users), then half an interval
        # so the window starts between two rounds.
        deadline = time.monotonic() + max(120.0, 3 * args.interval)
        while sum(1 for t in terminals if t.connections) < args.terminals:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"poller did not reach every terminal: {folder / 'serve.log'}")
            time.sleep(0.5)
        time.sleep(args.interval / 2)
        cpu0, wall0, t0 = cpu_s(proc.pid), time.perf_counter(), time.time()
        time.sleep(args.rounds * args.interval)
        cpu, wall, t1 = cpu_s(proc.pid) - cpu0, time.perf_counter() - wall0, time.time()
        load_at = load_average()  # its 1-minute figure covers the window's end
        polls = sessions_between(terminals, t0, t1)
        rss_kb = int(
            next(
                line.split()[1]
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                if line.startswith("VmRSS:")
            )
        )
    finally:
        proc.terminate()
        proc.wait(60)
    try:
        floor_out = subprocess.run(
            [sys.executable, "-c", FLOOR, json.dumps(ports)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        floor = json.loads(floor_out.stdout)
    finally:
        host.stop()
        shutil.rmtree(folder, ignore_errors=True)
    cores = cpu / wall
    per_poll_ms = 1000 * cpu / polls if polls else None
    floor_ms = 1000 * floor["cpu_s"] / args.terminals
    # What one core would carry at this CPU per poll, polling once a minute.
    per_core = round(60 * 1000 / per_poll_ms) if per_poll_ms else None
    at_size = args.terminals >= TARGET_TERMINALS and args.interval <= TARGET_INTERVAL_S
    emit(
        {
            "benchmark": "fleet_poll",
            "backend": backend,
            "terminals": args.terminals,
            "interval_s": args.interval,
            "window_s": round(wall, 1),
            "polls_in_window": polls,
            "polls_expected": args.terminals * args.rounds,
            "cpu_s": round(cpu, 2),
            "cpu_ms_per_poll": round(per_poll_ms, 2) if per_poll_ms else None,
            "cores_average": round(cores, 3),
            "rss_mb": round(rss_kb / 1024, 1),
            "terminals_per_core_at_60s": per_core,
            "floor_pyzk_cpu_ms_per_poll": round(floor_ms, 2),
            "floor_pyzk_wall_s": round(floor["wall_s"], 2),
            "ratio_to_floor": round(per_poll_ms / floor_ms, 2) if per_poll_ms else None,
            "load_average": load_at,
            "targets": [
                target(
                    f"{args.terminals} idle ZK terminals every {args.interval:g} s,"
                    " one poller process (cores)",
                    f"≤ {TARGET_CORES:g}",
                    round(cores, 3),
                    cores <= TARGET_CORES,
                    at_size=at_size,
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
