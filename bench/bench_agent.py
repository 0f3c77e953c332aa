"""A site agent forwarding a 100,000-punch backlog into the central SQLite store, beside raw ingest.

Measured in one run:
- the agent reads an emulated ZK terminal (`punchgate emulate zk`, its own process) into
  its buffer, as after an outage of the central service (timed, not a target);
- forwarding: the agent sends the backlog in batches over HTTP on 127.0.0.1 to the central
  API (uvicorn, its own process, as deployed) which stores each batch through the one
  ingest with its batch id, and deletes each batch once acknowledged: punches/s from the
  first batch to an empty buffer (target ≥ 5,000/s);
- raw ingest: the same punches through `ingest_batch` into a fresh SQLite store, in batches
  of the same size, in this process: the floor the handoff adds its HTTP and bookkeeping to.
The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

import httpx
from _zk_common import scratch_store, start_emulator
from common import emit, target
from sqlalchemy import func, select

from collector.agent import enrolment
from collector.agent.site.buffer import Buffer
from collector.agent.site.central import Central
from collector.agent.site.runner import Agent
from collector.normalize import raw_from_json
from collector.runtime import utcnow
from collector.store.ingest import ingest_batch
from collector.store.models import Punch

TARGET_PUNCHES, TARGET_RATE = 100_000, 5_000.0


def start_central(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The central API under uvicorn on the scratch store; waits for /health."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")}
    env |= {"PUNCHGATE_DATABASE_URL": db_url, "PUNCHGATE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"central did not start: {log.read_text()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def agent_process_rss(buffer_path: Path, url: str, credential: str, folder: Path) -> float:
    """Peak memory (MB) of the agent as a process reading the terminal and forwarding it all.

    The same agent credential on a fresh buffer: it reads the whole log again and forwards
    it (every punch a duplicate centrally), which is the most memory a read needs.
    """
    buffer = Buffer(buffer_path)
    buffer.put("central_url", url)
    buffer.put("credential", credential)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")}
    command = [sys.executable, "-m", "collector.agent.site", "run", "--buffer", str(buffer_path)]
    with (folder / "agent.log").open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    peak = 0.0
    try:
        deadline, read = time.monotonic() + 600, False
        while time.monotonic() < deadline and proc.poll() is None:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]) / 1024)
            depth = buffer.depth()
            read = read or depth > 0
            if read and depth == 0:
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    return round(peak, 1)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--punches", type=int, default=TARGET_PUNCHES)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument(
        "--rss",
        action="store_true",
        help="also run `python -m collector.agent.site run` on the same backlog: its peak memory",
    )
    args = parser.parse_args()
    emulator, (zk_port,) = start_emulator("--records", str(args.punches), "--users", "500")
    device = {"code": "gate", "kind": "zk", "host": "127.0.0.1", "port": zk_port}
    store, folder = scratch_store([device])
    with store.sessions.begin() as session:
        made = enrolment.create_agent(
            session,
            code="bench",
            name="",
            terminals=["gate"],
            options={"batch_size": args.batch_size},
            now=utcnow(),
            ttl=timedelta(hours=1),
            actor="bench",
        )
        _, credential = enrolment.redeem(
            session, token=made.token, now=utcnow(), hostname="bench", version="bench"
        )
    port = free_port()
    central_proc = start_central(store.settings.database_url, port, folder / "central.log")
    agent_dir = Path(tempfile.mkdtemp(prefix="punchgate-agent-bench-"))
    out: dict[str, object] = {"benchmark": "agent_forward", "batch_size": args.batch_size}
    try:
        buffer = Buffer(agent_dir / "buffer.sqlite3", max_rows=max(2 * args.punches, 100))
        central = Central(f"http://127.0.0.1:{port}", credential=credential)
        agent = Agent(buffer, central, store.settings)
        agent.contact_if_due()  # the configuration: the terminal and the batch size
        (reader,) = agent.readers.values()
        started = time.perf_counter()
        reader.poll()
        out["agent_read_s"] = round(time.perf_counter() - started, 3)
        backlog = buffer.depth()
        # The same punches for the raw ingest, read from the buffer file before forwarding.
        with sqlite3.connect(buffer.path) as peek:
            stored_items = [
                json.loads(text) for (text,) in peek.execute("SELECT item FROM punches")
            ]
        items = [raw_from_json(item["punch"]) for item in stored_items if "punch" in item]
        started, cpu = time.perf_counter(), time.process_time()
        central_cpu = cpu_seconds(central_proc.pid)
        acknowledged = agent.forward(threading.Event())
        forward_s = time.perf_counter() - started
        out["forward_cpu_agent_s"] = round(time.process_time() - cpu, 3)
        out["forward_cpu_central_s"] = round(cpu_seconds(central_proc.pid) - central_cpu, 3)
        with store.engine.connect() as conn:
            stored = int(conn.scalar(select(func.count()).select_from(Punch)) or 0)
        central.close()
        if args.rss:
            out["agent_process_peak_rss_mb"] = agent_process_rss(
                agent_dir / "rss.sqlite3", f"http://127.0.0.1:{port}", credential, agent_dir
            )
        # Raw ingest of the same punches, batch by batch, into a fresh store.
        raw_store, raw_folder = scratch_store([device])
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(items), args.batch_size):
            ingest_batch(
                raw_store.engine,
                items[start : start + args.batch_size],
                now=utcnow(),
                policy=raw_store.policy,
            )
        raw_s = time.perf_counter() - started
        out["raw_ingest_cpu_s"] = round(time.process_time() - cpu, 3)
        raw_store.close()
        shutil.rmtree(raw_folder, ignore_errors=True)
    finally:
        central_proc.terminate()
        central_proc.wait(30)
        emulator.terminate()
        emulator.wait(30)
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(agent_dir, ignore_errors=True)
    rate = round(backlog / forward_s, 1)
    out |= {
        "backlog": backlog,
        "acknowledged": acknowledged,
        "stored_centrally": stored,
        "forward_s": round(forward_s, 3),
        "forward_punches_per_s": rate,
        "raw_ingest_s": round(raw_s, 3),
        "raw_ingest_punches_per_s": round(len(items) / raw_s, 1),
        "forward_to_raw_time": round(forward_s / raw_s, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "targets": [
            target(
                f"agent backlog of {backlog:,} punches forwarded into central SQLite (punches/s)",
                f"≥ {TARGET_RATE:,.0f}",
                rate,
                rate >= TARGET_RATE and acknowledged == backlog,
                at_size=backlog >= TARGET_PUNCHES * 0.99,
            )
        ],
    }
    emit(out)


if __name__ == "__main__":
    main()
