"""One poll cycle over 200 idle emulated terminals (targets: ≤ 10 s wall, ≤ 1 CPU core).

The terminals run in their own process; this process's CPU (time.process_time) is ours.
Beside it, in the same run, the floor: each terminal merely connected to and left with
pyzk (connect + disconnect, the least any poll must do), on the same thread pool.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

from _zk_common import scratch_store, start_emulator
from common import emit, target
from zk import ZK

from collector.poller.worker import TerminalPollerWorker

TARGET_TERMINALS, TARGET_WALL_S, TARGET_CORES = 200, 10.0, 1.0


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=TARGET_TERMINALS)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    proc, ports = start_emulator(
        "--count", str(args.terminals), "--records", str(args.records), "--layout", "40"
    )
    devices = [
        {"code": f"t{i:03d}", "kind": "zk", "host": "127.0.0.1", "port": port, "transport": "tcp"}
        for i, port in enumerate(ports)
    ]
    store, folder = scratch_store(devices, zk_workers=args.workers, zk_timeout_s=10)
    worker = TerminalPollerWorker(store, seed=1)
    try:
        first = worker.poll_all()  # the first poll reads every log and the identities
        assert all(o is not None and o.read == args.records for o in first)
        wall, cpu = time.perf_counter(), time.process_time()
        idle = worker.poll_all()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert all(o is not None and o.read == 0 for o in idle)

        def touch(port: int) -> None:
            ZK("127.0.0.1", port=port, timeout=10, ommit_ping=True).connect().disconnect()

        with ThreadPoolExecutor(args.workers) as pool:
            floor = time.perf_counter()
            list(pool.map(touch, ports))
            floor = time.perf_counter() - floor
    finally:
        worker.stop()
        proc.terminate()
        proc.wait(timeout=10)
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    at_size = args.terminals >= TARGET_TERMINALS
    emit(
        {
            "benchmark": "zk_poll",
            "terminals": args.terminals,
            "workers": args.workers,
            "idle_cycle_wall_s": round(wall, 3),
            "idle_cycle_cpu_s": round(cpu, 3),
            "cpu_cores_average": round(cpu / wall, 3),
            "floor_connect_disconnect_wall_s": round(floor, 3),
            "ratio_to_floor": round(wall / floor, 2),
            "targets": [
                target(
                    f"ZK idle poll cycle over {args.terminals} terminals, wall (s)",
                    f"≤ {TARGET_WALL_S:g}",
                    round(wall, 3),
                    wall <= TARGET_WALL_S,
                    at_size=at_size,
                ),
                target(
                    f"ZK idle poll cycle over {args.terminals} terminals, CPU (cores)",
                    f"≤ {TARGET_CORES:g}",
                    round(cpu / wall, 3),
                    cpu / wall <= TARGET_CORES,
                    at_size=at_size,
                ),
            ],
        }
    )


if __name__ == "__main__":
    main()
