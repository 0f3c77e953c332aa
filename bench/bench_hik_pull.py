"""Hikvision pull of ~100,000 events from an emulated ISAPI terminal into SQLite, beside bare.

Measured in the same run, on the same emulator (in its own process, so its CPU is not ours):
- bare: an httpx client with Digest auth reading every page of the same event search
  (one searchID, 30 a page, beginSerialNo 1) and decoding the JSON, storing nothing: the
  floor any ISAPI reader pays;
- ours: `sync_hik` — device info, clock, the same paged search, mapping, the one ingest and
  a commit per page with the cursor — into a fresh SQLite store.
Target: ours ≤ 2× bare. Best of N rounds alternating the two sides (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

import httpx
from _zk_common import scratch_store
from common import emit, target

from collector.poller.hikdevices import load_hik_devices
from collector.poller.hiksync import sync_hik
from devices.hikvision.client import ISAPIClient
from devices.hikvision.events import search_condition

TARGET_EVENTS, TARGET_RATIO = 100_000, 2.0
PASSWORD = "bench-pass"


def start_emulator(punches: int) -> tuple[subprocess.Popen[str], int]:
    """`punchgate emulate hikvision` in its own process; its port."""
    exe = Path(sys.executable).parent / "punchgate"
    command = [str(exe), "emulate", "hikvision", "--port", "0", "--events", str(punches)]
    command += ["--password", PASSWORD, "--duration", "3600"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    (port,) = json.loads(proc.stdout.readline())["ports"]
    return proc, port


def bare_read(port: int) -> int:
    """Every page of the search with a plain Digest client; the events seen."""
    auth = httpx.DigestAuth("admin", PASSWORD)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as http:
        start = datetime(2000, 1, 1).astimezone()
        end = datetime.now().astimezone() + timedelta(days=1)
        search_id, position, seen = uuid.uuid4().hex, 0, 0
        while True:
            cond = search_condition(search_id, position, 30, start, end, begin_serial=1)
            page = http.post("/ISAPI/AccessControl/AcsEvent?format=json", json=cond).json()
            held = len(page["AcsEvent"].get("InfoList", []))
            seen += held
            if page["AcsEvent"]["responseStatusStrg"] != "MORE":
                return seen
            position += held


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=TARGET_EVENTS)
    parser.add_argument("--rounds", type=int, default=2, help="best of N for each side")
    args = parser.parse_args()
    # About one door or failed-verification event follows every second punch.
    proc, port = start_emulator(max(1, args.events * 2 // 3))
    device = {
        "code": "hik",
        "kind": "hik",
        "host": "127.0.0.1",
        "port": port,
        "comm_key": PASSWORD,
        "options": {"timeout_s": 30},
    }
    bare_s: list[float] = []
    bare_cpu: list[float] = []
    ours_s: list[float] = []
    ours_cpu: list[float] = []
    try:
        for _ in range(args.rounds):
            started, cpu = time.perf_counter(), time.process_time()
            events = bare_read(port)
            bare_s.append(time.perf_counter() - started)
            bare_cpu.append(time.process_time() - cpu)

            store, folder = scratch_store([device])
            (hik,) = load_hik_devices(store.engine, ["hik"], box=store.box)
            started, cpu = time.perf_counter(), time.process_time()
            with ISAPIClient(hik.target(store.settings)) as client:
                outcome = sync_hik(store, hik, client)
            ours_s.append(time.perf_counter() - started)
            ours_cpu.append(time.process_time() - cpu)
            store.close()
            shutil.rmtree(folder, ignore_errors=True)
            assert outcome.read == events, (outcome.read, events)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ratio = round(min(ours_s) / min(bare_s), 3)
    emit(
        {
            "benchmark": "hik_pull",
            "events": events,
            "punches_stored": outcome.inserted,
            "ignored": outcome.ignored,
            "pages": -(-events // 30),
            "rounds": args.rounds,
            "bare_read_s": round(min(bare_s), 3),
            "bare_read_cpu_s": round(min(bare_cpu), 3),
            "ours_pull_into_sqlite_s": round(min(ours_s), 3),
            "ours_pull_cpu_s": round(min(ours_cpu), 3),
            "ratio_ours_to_bare": ratio,
            "ratio_ours_to_bare_cpu": round(min(ours_cpu) / min(bare_cpu), 3),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "targets": [
                target(
                    f"Hikvision pull, {events:,} events into SQLite, vs bare HTTP read (× time)",
                    f"≤ {TARGET_RATIO}",
                    ratio,
                    ratio <= TARGET_RATIO,
                    at_size=events >= TARGET_EVENTS * 0.99,
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
