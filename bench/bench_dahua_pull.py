"""Dahua pull of ~100,000 records from an emulated controller into SQLite, beside bare.

Measured in the same run, on the same emulator (in its own process, so its CPU is not ours):
- bare: an httpx client with Digest auth reading every page of the same record search
  (`recordFinder.cgi`, 500 a page, each page asked from the newest CreateTime of the one
  before) and splitting the `key=value` lines into records, storing nothing: the floor any
  CGI reader pays;
- ours: `sync_dahua` — device info, clock, the same paged search, parsing, mapping, the one
  ingest and a commit per thousand records with the cursor — into a fresh SQLite store.
Target (the Hikvision pull's, applied here): ours ≤ 2× bare. Best of N rounds alternating
the two sides (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

import httpx
from _zk_common import scratch_store
from common import emit, target

from collector.poller.dahuadevices import load_dahua_devices
from collector.poller.dahuasync import sync_dahua
from devices.dahua.client import DahuaClient

TARGET_RECORDS, TARGET_RATIO = 100_000, 2.0
PASSWORD = "bench-pass"
PAGE = 500


def start_emulator(punches: int) -> tuple[subprocess.Popen[str], int]:
    """`punchgate emulate dahua` in its own process; its port."""
    exe = Path(sys.executable).parent / "punchgate"
    command = [str(exe), "emulate", "dahua", "--port", "0", "--records", str(punches)]
    command += ["--password", PASSWORD, "--duration", "3600"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    (port,) = json.loads(proc.stdout.readline())["ports"]
    return proc, port


def bare_read(port: int) -> int:
    """Every page of the search with a plain Digest client; the distinct records seen."""
    auth = httpx.DigestAuth("admin", PASSWORD)
    seen: set[str] = set()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as http:
        start = 1
        while True:
            params = {
                "action": "find",
                "name": "AccessControlCardRec",
                "StartTime": str(start),
                "EndTime": str(2**31 - 1),
                "count": str(PAGE),
            }
            text = http.get("/cgi-bin/recordFinder.cgi", params=params).text
            records: dict[str, dict[str, str]] = {}
            for line in text.splitlines():
                key, _, value = line.partition("=")
                if key.startswith("records["):
                    index, _, name = key[8:].partition("].")
                    records.setdefault(index, {})[name] = value
            seen.update(r["RecNo"] for r in records.values())
            if len(records) < PAGE:
                return len(seen)
            start = max(int(r["CreateTime"]) for r in records.values())


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=TARGET_RECORDS)
    parser.add_argument("--rounds", type=int, default=2, help="best of N for each side")
    parser.add_argument(
        "--commit-records", type=int, default=1000, help="records per commit (the option)"
    )
    args = parser.parse_args()
    # About one exit-button or failed-face record follows every third punch.
    proc, port = start_emulator(max(1, args.records * 10 // 13))
    device = {
        "code": "dahua",
        "kind": "dahua",
        "host": "127.0.0.1",
        "port": port,
        "comm_key": PASSWORD,
        "options": {"timeout_s": 30, "page_size": PAGE, "commit_records": args.commit_records},
    }
    bare_s: list[float] = []
    bare_cpu: list[float] = []
    ours_s: list[float] = []
    ours_cpu: list[float] = []
    try:
        for _ in range(args.rounds):
            started, cpu = time.perf_counter(), time.process_time()
            records = bare_read(port)
            bare_s.append(time.perf_counter() - started)
            bare_cpu.append(time.process_time() - cpu)

            store, folder = scratch_store([device])
            (dahua,) = load_dahua_devices(store.engine, ["dahua"], box=store.box)
            started, cpu = time.perf_counter(), time.process_time()
            with DahuaClient(dahua.target(store.settings)) as client:
                outcome = sync_dahua(store, dahua, client)
            ours_s.append(time.perf_counter() - started)
            ours_cpu.append(time.process_time() - cpu)
            store.close()
            shutil.rmtree(folder, ignore_errors=True)
            assert outcome.read == records, (outcome.read, records)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ratio = round(min(ours_s) / min(bare_s), 3)
    emit(
        {
            "benchmark": "dahua_pull",
            "records": records,
            "punches_stored": outcome.inserted,
            "ignored": outcome.ignored,
            "rounds": args.rounds,
            "commit_records": args.commit_records,
            "bare_read_s": round(min(bare_s), 3),
            "bare_read_cpu_s": round(min(bare_cpu), 3),
            "ours_pull_into_sqlite_s": round(min(ours_s), 3),
            "ours_pull_cpu_s": round(min(ours_cpu), 3),
            "ratio_ours_to_bare": ratio,
            "ratio_ours_to_bare_cpu": round(min(ours_cpu) / min(bare_cpu), 3),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "targets": [
                target(
                    f"Dahua pull, {records:,} records into SQLite, vs bare HTTP read (× time)",
                    f"≤ {TARGET_RATIO}",
                    ratio,
                    ratio <= TARGET_RATIO,
                    at_size=records >= TARGET_RECORDS * 0.99,
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
