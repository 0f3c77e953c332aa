"""Full sync of 100,000 records from an emulated terminal over TCP into SQLite, beside pyzk.

Measured in the same run, on the same emulator (in its own process, so its CPU is not ours):
- pyzk's own `get_attendance()` alone (no storage): the reference to beat (target: ours ≤ 0.35×);
- pyzk's `read_with_buffer` of the raw log alone: the transfer floor no reader can beat;
- ours: connect, identity, clock, raw read, one-pass parse, normalise and ingest, commit.
Wall and CPU seconds of this process are both reported, best of N rounds that alternate
the two sides (the machine is shared).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

from _zk_common import scratch_store, start_emulator
from common import emit, target
from sqlalchemy import func, select
from zk import ZK
from zk import const as zk_const

from collector.poller.sync import SyncOutcome, sync_terminal
from collector.poller.terminals import Terminal, load_terminals
from collector.runtime import Store
from collector.store.models import Punch
from devices.zk.driver import ZKSession

TARGET_RECORDS, TARGET_RATIO = 100_000, 0.35
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=TARGET_RECORDS)
    parser.add_argument("--layout", type=int, default=40)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="best of N for each side")
    args = parser.parse_args()
    proc, (port,) = start_emulator(
        "--records", str(args.records), "--layout", str(args.layout), "--users", str(args.users)
    )
    device = {"code": "bench", "kind": "zk", "host": "127.0.0.1", "port": port}
    runs: dict[str, list[tuple[float, float]]] = {"transfer": [], "pyzk": [], "ours": []}
    try:
        for _ in range(args.rounds):  # alternate the two sides so load changes hit both
            conn = ZK("127.0.0.1", port=port, timeout=30, ommit_ping=True).connect()
            (_, size), wall, cpu = timed(partial(conn.read_with_buffer, zk_const.CMD_ATTLOG_RRQ))
            runs["transfer"].append((wall, cpu))
            theirs, wall, cpu = timed(conn.get_attendance)
            runs["pyzk"].append((wall, cpu))
            conn.disconnect()

            store, folder = scratch_store([{**device, "transport": "tcp"}])
            (terminal,) = load_terminals(store.engine, ["bench"], box=store.box)

            def ours(store: Store = store, terminal: Terminal = terminal) -> SyncOutcome:
                with ZKSession(terminal.target(store.settings)) as session:
                    return sync_terminal(store, terminal, session)

            outcome, wall, cpu = timed(ours)
            runs["ours"].append((wall, cpu))
            with store.sessions() as s:
                stored = s.scalar(select(func.count()).select_from(Punch))
            store.close()
            shutil.rmtree(folder, ignore_errors=True)
            assert outcome.read == len(theirs) == args.records, (outcome.read, len(theirs))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    transfer_s = min(w for w, _ in runs["transfer"])
    pyzk_s, pyzk_cpu = min(w for w, _ in runs["pyzk"]), min(c for _, c in runs["pyzk"])
    ours_s, ours_cpu = min(w for w, _ in runs["ours"]), min(c for _, c in runs["ours"])
    ratio = round(ours_s / pyzk_s, 3)
    emit(
        {
            "benchmark": "zk_sync",
            "records": args.records,
            "rounds": args.rounds,
            "layout_bytes": args.layout,
            "buffer_bytes": size,
            "transfer_floor_s": round(transfer_s, 3),
            "pyzk_get_attendance_s": round(pyzk_s, 3),
            "pyzk_get_attendance_cpu_s": round(pyzk_cpu, 3),
            "ours_full_sync_into_sqlite_s": round(ours_s, 3),
            "ours_full_sync_cpu_s": round(ours_cpu, 3),
            "stored_punches": stored,
            "ratio_ours_to_pyzk": ratio,
            "ratio_ours_to_pyzk_cpu": round(ours_cpu / pyzk_cpu, 3),
            "ratio_ours_to_transfer_floor": round(ours_s / transfer_s, 2),
            "targets": [
                target(
                    f"ZK full sync, {args.records:,} records, vs pyzk get_attendance (× time)",
                    f"≤ {TARGET_RATIO}",
                    ratio,
                    ours_s <= TARGET_RATIO * pyzk_s and stored == args.records,
                    at_size=args.records >= TARGET_RECORDS,
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
