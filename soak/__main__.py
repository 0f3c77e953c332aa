"""`python -m soak --duration 600`: run the soak and print its JSON report; exit 1 unless clean."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from soak.run import Options, Soak
from soak.sources import Plan


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the report."""
    ap = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of traffic")
    ap.add_argument("--pg-down", type=float, default=None, help="seconds PostgreSQL is down")
    ap.add_argument("--drain-timeout", type=float, default=300.0)
    ap.add_argument("--terminals", type=int, default=50)
    ap.add_argument("--push", type=int, default=5)
    ap.add_argument("--phones", type=int, default=500)
    ap.add_argument("--hik", type=int, default=3, help="Hikvision terminals")
    ap.add_argument("--dahua", type=int, default=3, help="Dahua controllers")
    ap.add_argument("--agent-terminals", type=int, default=2, help="ZK terminals behind the agent")
    ap.add_argument("--zk-rate", type=float, default=8.0, help="terminal punches a second")
    ap.add_argument("--push-rate", type=float, default=2.0, help="push punches a second")
    ap.add_argument("--vendor-rate", type=float, default=2.0, help="their punches a second")
    ap.add_argument("--phone-ticks", type=float, default=40.0, help="phone steps a second")
    ap.add_argument("--reader", action="append", help="API path to read (repeatable)")
    ap.add_argument("--api-key", default=None, help="bearer key for the API readers")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the logs")
    ap.add_argument("--report", default=None, help="also write the JSON report to this file")
    args = ap.parse_args(argv)
    plan = Plan(
        terminals=args.terminals,
        push=args.push,
        phones=args.phones,
        zk_rate=args.zk_rate,
        push_rate=args.push_rate,
        phone_ticks=args.phone_ticks,
        hik=args.hik,
        dahua=args.dahua,
        vendor_rate=args.vendor_rate,
        agent_terminals=args.agent_terminals,
        live=min(10, args.terminals // 5),
        udp=min(5, args.terminals // 10),
    )
    opts = Options(
        duration=args.duration,
        pg_down_s=args.pg_down,
        drain_timeout_s=args.drain_timeout,
        keep=args.keep,
        api_key=args.api_key,
        plan=plan,
    )
    if args.reader:
        opts.readers = args.reader
    # SIGTERM (a CI timeout) unwinds through the finally blocks that kill every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report, status = Soak(opts).run()
    text = json.dumps(report, indent=2, default=str)
    print(text, flush=True)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
