"""Benchmark of the HR API against a uvicorn server on a free port, beside the raw SQL.

A month of a 10,000-person company (22 working days, four punches a day: ~880,000 punches
and 220,000 attendance days) is loaded once per backend and kept (.bench/ for SQLite, the
punchgate_bench_api database on PostgreSQL); later runs reuse it. Then, per backend:

- XLSX export of the month's attendance summary: wall time and the server's peak RSS
  (first, on a fresh server process, so the peak is the export's), beside writing the
  same rows with openpyxl straight from the driver;
- the monthly lateness report (JSON): p50 of the HTTP request, beside the same GROUP BY
  run through the DB driver;
- a page of punches with filters (department + one day) at 100 requests/s open-loop:
  p50/p99, beside the same SELECT through the driver.

Targets, at 10,000 employees: the XLSX in at most 10 s and 300 MB of server memory; the
lateness month's p50 at most 1 s on SQLite and 0.5 s on PostgreSQL; the punch page's p99
at most 50 ms at 100 requests/s, without errors.

Prints one JSON object. Flags: --employees, --backends, --rate, --seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from alembic.util.exc import CommandError
from common import ROOT, emit, target
from sqlalchemy import text
from sqlalchemy.engine import make_url

from collector.apikeys import Role, create_key
from collector.normalize import wall_key
from collector.runtime import Store
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from collector.store.ingest import db_date, db_time

PG_URL = "postgresql://postgres@127.0.0.1:5432/punchgate_bench_api"
SQLITE_PATH = ROOT / ".bench" / "bench_api.sqlite3"
TZ = ZoneInfo("Europe/Berlin")
MONTH_START, MONTH_END = date(2026, 3, 1), date(2026, 3, 31)
DEPARTMENTS = 50
TARGET_EMPLOYEES = 10_000
TARGET_LATENESS_P50_S = {"sqlite": 1.0, "postgresql": 0.5}
TARGET_PAGE_RATE, TARGET_PAGE_P99_MS = 100.0, 50.0
TARGET_XLSX_S, TARGET_XLSX_MB = 10.0, 300.0
PUNCH_COLS = (
    "dedupe_key, employee_code, occurred_at, tz, local_date, source_kind, device_code, verify,"
    " state, flags, employee_id, received_at"
)
DAY_COLS = (
    "employee_id, local_date, policy_id, status, provisional, first_in, last_out, worked_s,"
    " break_s, late_s, early_leave_s, overtime, balance_delta_s, anomalies, explanation,"
    " computed_at"
)
RAW_LATENESS = """
SELECT e.id, e.code, e.name, d.code, g.* FROM (
  SELECT a.employee_id,
    SUM(CASE WHEN a.status IN ('present','late','half_day','incomplete') THEN 1 ELSE 0 END),
    SUM(CASE WHEN a.late_s > 0 THEN 1 ELSE 0 END) AS l, SUM(a.late_s),
    SUM(CASE WHEN a.early_leave_s > 0 THEN 1 ELSE 0 END), SUM(a.early_leave_s)
  FROM attendance_days a WHERE a.local_date >= {m} AND a.local_date <= {m}
  GROUP BY a.employee_id) g
JOIN employees e ON e.id = g.employee_id LEFT JOIN departments d ON d.id = e.department_id
ORDER BY g.l DESC, e.code
"""
RAW_PAGE = """
SELECT * FROM punches WHERE employee_id {members}
AND occurred_at >= {m} AND occurred_at < {m} ORDER BY occurred_at, id LIMIT 101
"""
MEMBERS = {  # the same shape the API sends on each backend
    "sqlite": "IN (SELECT id FROM employees WHERE department_id = ?)",
    "postgresql": "= ANY(ARRAY(SELECT id FROM employees WHERE department_id = %s))",
}
RAW_SUMMARY = """
SELECT e.id, e.code, e.name, d.code, COUNT(*), SUM(a.worked_s), SUM(a.break_s),
  SUM(a.late_s), SUM(a.balance_delta_s)
FROM attendance_days a JOIN employees e ON e.id = a.employee_id
LEFT JOIN departments d ON d.id = e.department_id
WHERE a.local_date >= {m} AND a.local_date <= {m}
GROUP BY e.id, e.code, e.name, d.code ORDER BY e.code
"""


def working_days() -> list[date]:
    """The month's Mondays to Fridays."""
    out, day = [], MONTH_START
    while day <= MONTH_END:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def local(day: date, minutes: int) -> datetime:
    """A local time on `day`, `minutes` after midnight, as aware UTC."""
    clock = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=minutes)
    return clock.astimezone(UTC)


Rows = list[tuple[Any, ...]]


def generate(employees: int, dialect: str, now: datetime) -> Iterator[tuple[Rows, Rows]]:
    """Yield (punch rows, day rows) per working day, in the dialect's DB-API values."""
    rng = random.Random(6)
    received = db_time(now, dialect)
    for day in working_days():
        punches: list[tuple[Any, ...]] = []
        days: list[tuple[Any, ...]] = []
        d = db_date(day, dialect)
        for emp in range(1, employees + 1):
            code = f"E{emp:05d}"
            arrive = 8 * 60 + rng.randint(-20, 55)
            leave = 17 * 60 + rng.randint(-40, 60)
            times = [(arrive, "in"), (12 * 60, "break_out"), (12 * 60 + 30, "break_in")]
            times.append((leave, "out"))
            for minute, state in times:
                at = local(day, minute)
                key = wall_key(code, at.replace(tzinfo=None))  # what the ingest would write
                punches.append((
                    key, code, db_time(at, dialect), "Europe/Berlin", d,
                    "terminal", f"door-{emp % 20}", "fingerprint", state, 0, emp, received,
                ))  # fmt: skip
            late = max(0, arrive - 9 * 60) * 60
            early = max(0, 16 * 60 + 30 - leave) * 60
            worked = (leave - arrive - 30) * 60
            overtime = {"regular": worked - 28800} if worked > 28800 else {}
            days.append((
                emp, d, 1, "late" if late else "present", False,
                db_time(local(day, arrive), dialect), db_time(local(day, leave), dialect),
                worked, 1800, late, early, json.dumps(overtime), worked - 28800, "[]",
                json.dumps([{"rule": "flexitime", "target_s": 28800}]), received,
            ))  # fmt: skip
        yield punches, days


def load(url: str, dialect: str, employees: int) -> tuple[int, int, float]:
    """Create the dataset unless the database already holds exactly this one."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except CommandError:  # built by an older schema history: start again
        with engine.begin() as conn:
            if dialect == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
                for (name,) in list(names):
                    conn.execute(text(f'DROP TABLE "{name}"'))
        upgrade(engine)
    marker = f"BENCH-{employees}x{len(working_days())}"
    with engine.connect() as conn:
        found = conn.execute(text("SELECT code FROM sites WHERE code = :m"), {"m": marker}).first()
        counts = conn.execute(
            text("SELECT (SELECT COUNT(*) FROM punches), (SELECT COUNT(*) FROM attendance_days)")
        ).one()
    if found is not None:
        engine.dispose()
        return int(counts[0]), int(counts[1]), 0.0
    started = time.perf_counter()
    now = datetime(2026, 4, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for table in ("dirty_days", "attendance_days", "punches", "policy_assignments",
                      "audit_log", "api_keys", "employees", "devices", "policies", "sites",
                      "departments"):  # fmt: skip
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text("INSERT INTO sites (id, code, name, timezone, fence) VALUES (1, :m, 'HQ', "
                 "'Europe/Berlin', '{}')"), {"m": marker},
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO policies (id, name, kind, document, updated_at) VALUES "
                 "(1, 'flex', 'flexitime', '{}', :t)"), {"t": db_time(now, dialect)},
        )  # fmt: skip
        for i in range(1, DEPARTMENTS + 1):
            conn.execute(
                text("INSERT INTO departments (id, code, name) VALUES (:i, :c, :n)"),
                {"i": i, "c": f"D{i:02d}", "n": f"Department {i}"},
            )
        for i in range(20):
            conn.execute(
                text("INSERT INTO devices (code, name, kind, timezone, direction_mode, enabled,"
                     " transport, options, status, sync_state) VALUES (:c, :c, 'zk',"
                     " 'Europe/Berlin', 'auto', true, 'auto', '{}', :s, '{}')"),
                {"c": f"door-{i}", "s": "online" if i % 7 else "offline"},
            )  # fmt: skip
        cur = conn.connection.cursor()
        mark = "?" if dialect == "sqlite" else "%s"
        cur.executemany(
            f"INSERT INTO employees (id, code, name, department_id, site_id, identities,"
            f" created_at) VALUES ({', '.join([mark] * 7)})",
            [
                (e, f"E{e:05d}", f"Person {e}", (e % DEPARTMENTS) + 1, 1, "{}",
                 db_time(now, dialect))
                for e in range(1, employees + 1)
            ],
        )  # fmt: skip
        for punches, days in generate(employees, dialect, now):
            if dialect == "sqlite":
                cur.executemany(f"INSERT INTO punches ({PUNCH_COLS}) VALUES "
                                f"({', '.join(['?'] * 12)})", punches)  # fmt: skip
                cur.executemany(f"INSERT INTO attendance_days ({DAY_COLS}) VALUES "
                                f"({', '.join(['?'] * 16)})", days)  # fmt: skip
            else:
                with cur.copy(f"COPY punches ({PUNCH_COLS}) FROM STDIN") as copy:
                    for row in punches:
                        copy.write_row(row)
                with cur.copy(f"COPY attendance_days ({DAY_COLS}) FROM STDIN") as copy:
                    for row in days:
                        copy.write_row(row)
        cur.close()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
        counts = conn.execute(
            text("SELECT (SELECT COUNT(*) FROM punches), (SELECT COUNT(*) FROM attendance_days)")
        ).one()
    engine.dispose()
    return int(counts[0]), int(counts[1]), time.perf_counter() - started


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`uvicorn api.app:create_app` in a subprocess on a free loopback port."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        env = dict(os.environ, PUNCHGATE_DATABASE_URL=url, PUNCHGATE_LOG_LEVEL="WARNING")
        env.pop("PUNCHGATE_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the API server did not start")

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def token_for(url: str) -> str:
    """A fresh admin key in the benchmark database."""
    engine = make_engine(url)
    store = Store(Settings(database_url=url), engine, make_sessionmaker(engine))
    with store.sessions.begin() as session:
        token = create_key(session, name="bench", role=Role.ADMIN, now=datetime.now(UTC)).token
    engine.dispose()
    return token


def raw_timings(url: str, sql: str, params: tuple[Any, ...], runs: int) -> list[float]:
    """Seconds the driver alone takes to run `sql` and fetch every row."""
    engine = make_engine(url)
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    out = []
    with engine.connect() as conn:
        cur = conn.connection.cursor()
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute(sql.format(m=mark), params)
            cur.fetchall()
            out.append(time.perf_counter() - started)
        cur.close()
    engine.dispose()
    return out


def raw_xlsx(url: str, dialect: str) -> float:
    """Seconds to write the summary rows to XLSX straight from the driver."""
    from openpyxl import Workbook

    engine = make_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection checked out of the pool has one
        cur = driver.cursor()  # the driver's own cursor, iterated without fetching all
        mark = "?" if dialect == "sqlite" else "%s"
        cur.execute(RAW_SUMMARY.format(m=mark), (db_date(MONTH_START, dialect),
                                                 db_date(MONTH_END, dialect)))  # fmt: skip
        book = Workbook(write_only=True)
        sheet = book.create_sheet("summary")
        for row in cur:
            sheet.append(list(row))
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
            book.save(handle.name)
        cur.close()
    engine.dispose()
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def open_loop(base: str, headers: dict[str, str], rate: float, seconds: float) -> dict[str, Any]:
    """Send punch-page requests at `rate`/s on a fixed schedule; latency per request."""
    days = working_days()
    rng = random.Random(1)
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    local_state = threading.local()
    host, port = base.removeprefix("http://").split(":")
    start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        nonlocal errors
        # http.client, not httpx: the generator must not eat the server's CPU on 2 cores.
        conn = getattr(local_state, "conn", None)
        if conn is None:
            conn = local_state.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        day = days[i % len(days)]
        since = local(day, rng.randint(6 * 60, 16 * 60))
        query = urlencode({
            "department": f"D{(i % DEPARTMENTS) + 1:02d}",
            "since": since.isoformat(),
            "until": (since + timedelta(hours=4)).isoformat(),
            "limit": "100",
        })  # fmt: skip
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        conn.request("GET", f"/punches?{query}", headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        took = time.perf_counter() - sent
        with lock:
            latencies.append(took)
            if answer.status != 200 or b'"items":[]' in body:
                errors += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    return {
        "requests": total,
        "achieved_rps": round(total / elapsed, 1),
        "errors": errors,
        "p50_ms": round(pct(latencies, 0.5) * 1000, 2),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 2),
    }


def bench_backend(
    url: str, dialect: str, employees: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Every measurement for one backend."""
    punches, day_rows, load_s = load(url, dialect, employees)
    token = token_for(url)
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"punches": punches, "attendance_days": day_rows,
                           "load_s": round(load_s, 1)}  # fmt: skip
    month = {"from": MONTH_START.isoformat(), "to": MONTH_END.isoformat()}
    server = Server(url)
    try:
        client = httpx.Client(base_url=server.base, headers=headers, timeout=120)
        baseline = server.peak_rss_mb()
        started = time.perf_counter()
        answer = client.get("/reports/attendance", params={**month, "format": "xlsx"})
        xlsx_s = time.perf_counter() - started
        assert answer.status_code == 200, answer.text[:300]
        direct = raw_xlsx(url, dialect)
        out["xlsx"] = {
            "rows": employees, "bytes": len(answer.content), "seconds": round(xlsx_s, 2),
            "direct_openpyxl_s": round(direct, 2), "ratio": round(xlsx_s / direct, 2),
            "server_rss_before_mb": round(baseline, 1),
            "server_peak_rss_mb": round(server.peak_rss_mb(), 1),
        }  # fmt: skip
        http = []
        for _ in range(args.runs):
            started = time.perf_counter()
            answer = client.get("/reports/lateness", params=month)
            http.append(time.perf_counter() - started)
            assert answer.status_code == 200 and len(answer.json()["rows"]) == employees
        params = (db_date(MONTH_START, dialect), db_date(MONTH_END, dialect))
        raw = raw_timings(url, RAW_LATENESS, params, args.runs)
        out["lateness_month"] = {
            "rows": employees, "http_p50_s": round(statistics.median(http), 3),
            "raw_sql_p50_s": round(statistics.median(raw), 3),
            "ratio": round(statistics.median(http) / statistics.median(raw), 2),
        }  # fmt: skip
        since = local(working_days()[10], 9 * 60)
        page_params = (1, db_time(since, dialect), db_time(since + timedelta(hours=4), dialect))
        page_sql = RAW_PAGE.replace("{members}", MEMBERS[dialect])
        raw_page = raw_timings(url, page_sql, page_params, 50)
        # At 10 requests/s first: the service time with (almost) no queueing behind it.
        loop = open_loop(server.base, headers, 10.0, args.seconds)
        alone = {"p50_ms": loop["p50_ms"], "p99_ms": loop["p99_ms"]}
        loop = open_loop(server.base, headers, args.rate, args.seconds)
        loop["unloaded_10rps"] = alone
        loop["raw_sql_p50_ms"] = round(statistics.median(raw_page) * 1000, 2)
        loop["ratio_p50"] = round(loop["p50_ms"] / loop["raw_sql_p50_ms"], 1)
        out["punch_page"] = loop
    finally:
        server.stop()
    return out


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rate", type=float, default=100.0, help="punch-page requests/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="punch-page load duration")
    parser.add_argument("--runs", type=int, default=7, help="lateness report repetitions")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "api", "employees": args.employees, "working_days": len(working_days()),
    }  # fmt: skip
    result["targets"] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{SQLITE_PATH}"
        else:
            url = os.environ.get("PUNCHGATE_BENCH_DATABASE_URL", PG_URL)
            _ensure_database(url)
        result[backend] = bench_backend(url, backend, args.employees, args)
        result["targets"] += targets(backend, result[backend], args)
    emit(result)


def targets(backend: str, run: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One backend's targets with this run's figures."""
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    at_size = args.employees >= TARGET_EMPLOYEES
    xlsx, lateness, page = run["xlsx"], run["lateness_month"], run["punch_page"]
    size = f"{args.employees:,} employees"
    return [
        target(f"XLSX month summary, {name}, {size} (s)", f"≤ {TARGET_XLSX_S:g}",
               xlsx["seconds"], xlsx["seconds"] <= TARGET_XLSX_S, at_size=at_size),
        target(f"XLSX month summary, {name}, server peak RSS (MB)", f"≤ {TARGET_XLSX_MB:g}",
               xlsx["server_peak_rss_mb"], xlsx["server_peak_rss_mb"] <= TARGET_XLSX_MB,
               at_size=at_size),
        target(f"lateness month, {name}, {size}, p50 (s)",
               f"≤ {TARGET_LATENESS_P50_S[backend]:g}", lateness["http_p50_s"],
               lateness["http_p50_s"] <= TARGET_LATENESS_P50_S[backend], at_size=at_size),
        target(f"punch page, {name}, p99 at {args.rate:g} req/s, no errors (ms)",
               f"≤ {TARGET_PAGE_P99_MS:g} at {TARGET_PAGE_RATE:g} req/s", page["p99_ms"],
               page["errors"] == 0 and page["p99_ms"] <= TARGET_PAGE_P99_MS,
               at_size=at_size and args.rate >= TARGET_PAGE_RATE),
    ]  # fmt: skip


def _ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
