"""The phones' morning peak in a process of its own (`python -m soak.fleet_phones`).

paho's network loop uses select(), which fails on a descriptor above 1023: the soak's
process holds two sockets per emulated terminal, so with a thousand terminals a paho
client there cannot connect at all. Real phones are elsewhere anyway.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from devices.mobile.topics import Topics
from soak.fleet_traffic import PhonePeak
from soak.ledger import Generated, Malformed, message_id


def _entries(found: dict[str, Generated]) -> list[list[Any]]:
    return [[mid, g.employee_code, g.epoch_second] for mid, g in found.items()]


def _generated(rows: list[list[Any]]) -> dict[str, Generated]:
    return {mid: Generated("phones", message_id(mid), code, int(s)) for mid, code, s in rows}


class PhoneProcess:
    """Runs the peak in a child process; its ledgers are read back when it ends."""

    def __init__(self, port: int, root: str, codes: list[str], out: Path) -> None:
        self.port, self.root, self.codes, self.out = port, root, codes, out
        self.proc: subprocess.Popen[bytes] | None = None
        self.generated: dict[str, Generated] = {}
        self.figures: dict[str, Any] = {}
        self.malformed: list[Malformed] = []

    def start(self, seconds: float, garbage: int, garbage_at: float) -> None:
        """Start publishing: each phone once over `seconds`, `garbage` bad ones at `garbage_at`."""
        codes = self.out.with_suffix(".codes")
        codes.write_text("\n".join(self.codes))
        argv = [sys.executable, "-m", "soak.fleet_phones", "--port", str(self.port),
                "--root", self.root, "--codes", str(codes), "--seconds", str(seconds),
                "--garbage", str(garbage), "--garbage-at", str(garbage_at),
                "--out", str(self.out)]  # fmt: skip
        repo = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(argv, cwd=repo)

    def wait(self, timeout: float) -> None:
        """Wait for the child and read what it published."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if not self.out.exists():
            raise RuntimeError(f"the phones' process ended with {self.proc.returncode}, no ledger")
        doc = json.loads(self.out.read_text())
        self.generated = _generated(doc.pop("generated"))
        self.malformed = [Malformed("phone-garbage", "mobile", None, b) for b in doc.pop("garbage")]
        self.figures = doc

    def kill(self) -> None:
        """Stop the child if it still runs (cleanup)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()


def main(argv: list[str] | None = None) -> int:
    """Publish the peak, write the ledgers as JSON."""
    ap = argparse.ArgumentParser(prog="python -m soak.fleet_phones")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--codes", type=Path, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--garbage", type=int, default=0)
    ap.add_argument("--garbage-at", type=float, default=0.0)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    peak = PhonePeak(a.port, Topics(root=a.root), a.codes.read_text().split())
    stop = threading.Event()
    runner = threading.Thread(target=peak.run, args=(stop, a.seconds))
    runner.start()
    time.sleep(a.garbage_at)
    bad = peak.garbage(a.garbage) if a.garbage else []
    runner.join()
    receipts = Counter(v for m, v in peak.receipts.items() if m in peak.generated)
    doc = {
        "generated": _entries(peak.generated),
        "garbage": [m.raw for m in bad],
        "published": len(peak.generated),
        "receipts": dict(receipts),
        "without_receipt": len(peak.unanswered()),
        "resends": peak.resends,
        "puback_no_matching_subscribers": peak.no_subscribers,
    }
    a.out.write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
