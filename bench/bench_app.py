"""The punch app's round trip: POST /app/punches → receipt, over loopback HTTP, beside the floors.

Measured in one run on a migrated SQLite file with site hq and ``--phones`` enrolled phones,
the API served by uvicorn in its own process (`uvicorn --factory api.app:create_app`):

- ``round_trip``: one phone punching ``--punches`` times in a row over a keep-alive
  connection (each punch decided, committed and answered with its receipt);
- ``burst``: every phone punching once, at times spread evenly over ``--window`` seconds
  (default 20: harder than the target's minute), each on its own connection, 64 at a time;
- ``first_load_*_kb``: each screen (the punch page, my month, my requests) and all it loads,
  gzip-compressed (level 6) as a compressing proxy would send it;
  ``month_p95_ms``: ``GET /app/month``;
- floors beside them: ``GET /health`` over the same HTTP (the server's floor for any
  request that touches the database) and the Pipeline alone in-process (decide + ingest +
  receipt for one punch, no HTTP).

The browser's part of "button → receipt shown" (a few ms of script) is not in these
figures. Prints one JSON object. Targets: round trip p95 ≤ 300 ms; 500 phones within a
minute, p99 ≤ 1 s; first load ≤ 150 KB compressed.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_push import _connect, free_port
from common import emit, target

from collector.phoneapp import devices
from collector.phoneapp.punching import AppPunching
from collector.runtime import Store
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from collector.store.models import Employee, Site

HQ = (52.52, 13.405)


def seed(url: str, phones: int) -> list[str]:
    """Site hq, one employee per phone, each phone enrolled; returns the phones' tokens."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    tokens = []
    with make_sessionmaker(engine).begin() as s:
        site = Site(
            code="hq", name="HQ", timezone="Europe/Berlin", lat=HQ[0], lon=HQ[1], radius_m=150
        )
        s.add(site)
        s.flush()
        for i in range(phones):
            emp = Employee(code=f"{5000 + i}", name=f"Phone {i}", site_id=site.id, created_at=now)
            s.add(emp)
            s.flush()
            made = devices.create_enrolment(
                s, employee=emp, now=now, ttl=timedelta(hours=1), actor="bench"
            )
            tokens.append(devices.redeem(s, code=made.code, now=now, user_agent="bench"))
    engine.dispose()
    return tokens


def body(n: int, phone: int) -> bytes:
    """A native punch inside hq, taken now."""
    punch = {
        "schema_version": 1,
        "id": f"bench-{phone}-{n}",
        "ts": datetime.now(UTC).isoformat(),
        "lat": HQ[0] + (n % 7) * 1e-5,
        "lon": HQ[1],
        "acc": 10.0,
        "kind": "in" if n % 2 == 0 else "out",
    }
    return json.dumps(punch).encode()


def post(conn: http.client.HTTPConnection, token: str, data: bytes) -> float:
    """Seconds for one punch to come back with an accepted receipt."""
    begin = time.perf_counter()
    conn.request(
        "POST",
        "/app/punches",
        body=data,
        headers={"Content-Type": "application/json", "Cookie": f"punchgate_app={token}"},
    )
    response = conn.getresponse()
    receipt = json.loads(response.read())
    elapsed = time.perf_counter() - begin
    if receipt.get("status") != "accepted":
        raise RuntimeError(f"punch not accepted: {receipt}")
    return elapsed


def get(conn: http.client.HTTPConnection, token: str, path: str) -> bytes:
    """One GET as the bound phone; the body."""
    conn.request("GET", path, headers={"Cookie": f"punchgate_app={token}"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status}")
    return data


def first_load_kb(conn: http.client.HTTPConnection, token: str, page: str) -> float:
    """A screen and everything it loads (plus the service worker and an icon), gzip-compressed."""
    html = get(conn, token, page)
    assets = re.findall(rb'(?:href|src)="(/[^"]+)"', html)
    paths = [a.decode() for a in assets] + ["/app/sw.js", "/app/static/icon-192.png"]
    bodies = [html] + [get(conn, token, p) for p in paths]
    return round(sum(len(gzip.compress(b, 6)) for b in bodies) / 1024, 1)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def main() -> None:
    """Run the measurements and print the result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--punches", type=int, default=300)
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    url = f"sqlite:///{work / 'app.sqlite3'}"
    tokens = seed(url, args.phones)
    port = free_port()
    env = {
        **os.environ,
        "PUNCHGATE_DATABASE_URL": url,
        "PUNCHGATE_API_RATE_PER_S": "100000",
        "PUNCHGATE_API_RATE_BURST": "100000",
    }
    env.pop("PUNCHGATE_CONFIG", None)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, object] = {"phones": args.phones, "window_s": args.window}
    try:
        conn = _connect(port)
        post(conn, tokens[0], body(-1, 0))  # warm up: the app's Pipeline loads the fences
        health = []
        for _ in range(args.punches):
            begin = time.perf_counter()
            conn.request("GET", "/health")
            conn.getresponse().read()
            health.append(time.perf_counter() - begin)
        trips = [post(conn, tokens[0], body(n, 0)) for n in range(args.punches)]
        pages = ("/app", "/app/my-month", "/app/my-requests")
        loads = [first_load_kb(conn, tokens[0], page) for page in pages]
        (
            result["first_load_punch_kb"],
            result["first_load_month_kb"],
            result["first_load_requests_kb"],
        ) = loads
        months = []
        for _ in range(min(args.punches, 100)):
            begin = time.perf_counter()
            get(conn, tokens[0], "/app/month")
            months.append(time.perf_counter() - begin)
        result["month_p50_ms"], result["month_p95_ms"] = (
            quantile(months, 0.5),
            quantile(months, 0.95),
        )
        conn.close()
        result["health_p50_ms"], result["health_p95_ms"] = (
            quantile(health, 0.5),
            quantile(health, 0.95),
        )
        result["round_trip_p50_ms"] = quantile(trips, 0.5)
        result["round_trip_p95_ms"] = quantile(trips, 0.95)

        start = time.perf_counter() + 0.5
        lock = threading.Lock()
        burst: list[float] = []

        def phone(i: int) -> None:
            delay = start + args.window * i / args.phones - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            took = post(c, tokens[i], body(10_000, i))
            c.close()
            with lock:
                burst.append(took)

        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(phone, range(args.phones)))
        result["burst_p50_ms"] = quantile(burst, 0.5)
        result["burst_p99_ms"] = quantile(burst, 0.99)
    finally:
        server.terminate()
        server.wait(timeout=30)

    engine = make_engine(url)
    store = Store(Settings(database_url=url, config=None), engine, make_sessionmaker(engine))
    punching = AppPunching(store)
    with store.sessions() as s:
        bound = devices.authenticate(s, token=tokens[1], now=datetime.now(UTC))
    assert bound is not None
    inproc = []
    for n in range(args.punches):
        begin = time.perf_counter()
        receipt = punching.submit(bound, body(20_000 + n, 1), now=datetime.now(UTC))
        inproc.append(time.perf_counter() - begin)
        if json.loads(receipt)["status"] != "accepted":
            raise RuntimeError(f"punch not accepted in-process: {receipt!r}")
    store.close()
    result["pipeline_p50_ms"] = quantile(inproc, 0.5)
    result["pipeline_p95_ms"] = quantile(inproc, 0.95)
    at_size = args.phones >= 500 and args.window <= 60
    rt, b99 = result["round_trip_p95_ms"], result["burst_p99_ms"]
    kb = max(loads)
    assert isinstance(rt, float) and isinstance(b99, float) and isinstance(kb, float)
    result["targets"] = [
        target("punch round trip p95 (ms, loopback)", "≤ 300", rt, rt <= 300),
        target("500 phones in a minute, p99 (ms)", "≤ 1000", b99, b99 <= 1000, at_size=at_size),
        target("first load, compressed (KB)", "≤ 150", kb, kb <= 150),
    ]
    emit(result)


if __name__ == "__main__":
    main()
