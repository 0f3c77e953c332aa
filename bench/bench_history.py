"""Report latency and ingest rate with a large history (PostgreSQL only).

A fresh, migrated database is filled on the server (INSERT … SELECT over generate_series,
one statement per month) with `--rows` punches for 10,000 employees: four a workday
(in, out, in, out; the lunch pair from phones, with a position) over as many workdays as
that takes (20,000,000 rows: 500 workdays, about two years, ending 2025-12-31), with dedupe
keys in collector.normalize.wall_key's layout (wall-clock second << 31, the low bits the
employee); and one attendance day per
employee and workday, consistent with those punches (late after 09:00, early before
17:00), as the days worker would have left them. Then ANALYZE.

Measured: (a) the lateness report the API serves (collector.reports.lateness, by
employee, unscoped) for the last month, 10,000 employees, p50 over `--runs` runs; (b)
ingest_batch of bench_ingest's batches (a later week, so nothing is a duplicate) into the
big table against the same batches into an empty database with the same employees,
alternating batch by batch so both see the machine at the same speed. Targets at
20,000,000 rows: p50 ≤ 0.5 s; ingest ≥ 0.7× the empty table's rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script by `make bench`

from bench_ingest import NOW, POLICY, batches
from common import PG_URL, emit, fresh_pg_database, load_average, target
from sqlalchemy import Engine, text

from collector.masterdata.scope import Scope
from collector.mqtt.directory import Directory
from collector.reports.lateness import lateness
from collector.store.db import make_engine, upgrade
from collector.store.ingest import ingest_batch

EMPLOYEES = 10_000
PUNCHES_PER_DAY = 4
LAST_DAY = date(2025, 12, 31)  # bench_ingest's batches start on 2026-01-05: no overlap
TARGET_ROWS, TARGET_P50_S, TARGET_RATIO = 20_000_000, 0.5, 0.7

# Local times of a day's four punches, in seconds after midnight, per employee and day:
# arrival 08:30 + 0..45 min (late after 09:00 for about a third), lunch 12:00–12:30,
# leaving 16:45 + 0..60 min (early before 17:00 for about a quarter).


def arrive(e: str, d: str) -> str:
    """SQL: the arrival of employee number `e` on workday number `d` (seconds)."""
    return f"30600 + (({e} * 7919 + {d} * 104729) % 2700)"


def leave(e: str, d: str) -> str:
    """SQL: the departure of employee number `e` on workday number `d` (seconds)."""
    return f"60300 + (({e} * 6007 + {d} * 15401) % 3600)"


PUNCHES = f"""
INSERT INTO punches (dedupe_key, employee_code, employee_id, occurred_at, tz, local_date,
                     source_kind, device_code, verify, state, flags, received_at, lat, lon)
SELECT ((extract(epoch FROM p.wall - timestamp '2000-01-01'))::bigint << 31) | x.e,
       x.code, x.id, p.wall - interval '1 hour', 'Europe/Berlin', x.day,
       CASE WHEN k IN (1, 2) THEN 'mobile' ELSE 'terminal' END, 'door-' || (x.e % 40),
       'fingerprint', CASE WHEN k % 2 = 0 THEN 'in' ELSE 'out' END, 0, p.wall,
       CASE WHEN k IN (1, 2) THEN 52.52 END, CASE WHEN k IN (1, 2) THEN 13.405 END
FROM (
    SELECT em.e, em.code, em.id, d.day, d.n AS d
    FROM unnest(CAST(:days AS date[]), CAST(:nums AS int[])) AS d(day, n)
    CROSS JOIN (SELECT id, code, CAST(code AS int) - 10000 AS e FROM employees) AS em
) AS x
CROSS JOIN generate_series(0, 3) AS k
CROSS JOIN LATERAL (
    SELECT x.day + make_interval(secs => CASE k
        WHEN 0 THEN {arrive("x.e", "x.d")}
        WHEN 1 THEN 43200 + x.e % 60
        WHEN 2 THEN 45000 + x.e % 60
        ELSE {leave("x.e", "x.d")} END) AS wall
) AS p
ORDER BY 1
"""
DAYS = f"""
INSERT INTO attendance_days (employee_id, local_date, status, provisional, first_in, last_out,
                             worked_s, break_s, late_s, early_leave_s, overtime,
                             balance_delta_s, anomalies, explanation, computed_at, target_s,
                             core_missed_s, night_s)
SELECT x.id, x.day, CASE WHEN a > 32400 THEN 'late' ELSE 'present' END, false,
       x.day + make_interval(secs => a) - interval '1 hour',
       x.day + make_interval(secs => l) - interval '1 hour',
       l - a - 1800, 1800, greatest(a - 32400, 0), greatest(61200 - l, 0), '{{}}',
       (l - a - 1800) - 28800, '[]', '[]', now(), 28800, 0, 0
FROM (
    SELECT em.id, em.e, d.day, d.n AS d,
           {arrive("em.e", "d.n")} AS a,
           {leave("em.e", "d.n")} AS l
    FROM unnest(CAST(:days AS date[]), CAST(:nums AS int[])) AS d(day, n)
    CROSS JOIN (SELECT id, CAST(code AS int) - 10000 AS e FROM employees) AS em
) AS x
"""


def log(msg: str) -> None:
    """Progress on stderr (stdout carries the one JSON object)."""
    print(f"{datetime.now(UTC):%H:%M:%S} {msg}", file=sys.stderr, flush=True)


def workdays(count: int) -> list[date]:
    """The last `count` Mondays-to-Fridays up to LAST_DAY, oldest first."""
    out: list[date] = []
    day = LAST_DAY
    while len(out) < count:
        if day.isoweekday() < 6:
            out.append(day)
        day -= timedelta(days=1)
    return out[::-1]


def database(name: str) -> Engine:
    """A fresh migrated database with the 10,000 employees (codes 10000…19999)."""
    url = fresh_pg_database(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    if url is None:
        raise RuntimeError("PostgreSQL unreachable")
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO employees (code, name, identities, created_at) "
                "SELECT (10000 + g)::text, 'E' || g, '{}', now() "
                "FROM generate_series(0, :n - 1) AS g"
            ),
            {"n": EMPLOYEES},
        )
    return engine


def fill(engine: Engine, days: list[date]) -> dict[str, Any]:
    """Punches and attendance days for `days`, a month per statement; then ANALYZE."""
    months: dict[tuple[int, int], list[tuple[date, int]]] = {}
    for n, day in enumerate(days):
        months.setdefault((day.year, day.month), []).append((day, n))
    t0 = time.perf_counter()
    for (year, month), chunk in sorted(months.items()):
        params = {"days": [d for d, _ in chunk], "nums": [n for _, n in chunk]}
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text(PUNCHES), params)
            conn.execute(text(DAYS), params)
        log(f"filled {year}-{month:02d} ({len(chunk)} workdays)")
    filled = time.perf_counter() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE punches"))
        conn.execute(text("VACUUM ANALYZE attendance_days"))
        rows = conn.execute(text("SELECT count(*) FROM punches")).scalar_one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return {"fill_s": round(filled, 1), "punches": rows, "database_gb": round(size / 1e9, 2)}


def report_runs(engine: Engine, start: date, end: date, runs: int) -> tuple[list[float], int]:
    """Seconds per lateness report (rows fetched), and the rows of the last."""
    times, rows = [], 0
    for _ in range(runs):
        with engine.connect() as conn:
            t = time.perf_counter()
            report = lateness(conn, start=start, end=end, scope=Scope())
            rows = sum(1 for _ in report.rows)
            times.append(time.perf_counter() - t)
    return times, rows


def first_fix_lookup(engine: Engine, runs: int) -> list[float]:
    """Seconds of the phone path's previous-fix query (collector.mqtt.directory) for a
    phone a process meets first: what each process pays once per phone it has not seen."""
    directory = Directory(engine, identity_key="owntracks", default_tz="Europe/Berlin")
    times = []
    for n in range(runs):
        with engine.connect() as conn:
            t = time.perf_counter()
            directory.previous_fix(conn, str(10000 + n), datetime(2026, 1, 1, tzinfo=UTC))
            times.append(time.perf_counter() - t)
    return times


def ingest_pair(big: Engine, empty: Engine, total: int, size: int) -> dict[str, float]:
    """bench_ingest's batches into both tables, alternating which goes first."""
    spent = {"big": 0.0, "empty": 0.0}
    inserted = {"big": 0, "empty": 0}
    for i, chunk in enumerate(batches(total, size)):
        order = [("big", big), ("empty", empty)]
        for name, engine in order if i % 2 else order[::-1]:
            t = time.perf_counter()
            inserted[name] += ingest_batch(engine, chunk, now=NOW, policy=POLICY).inserted
            spent[name] += time.perf_counter() - t
    if inserted["big"] != total or inserted["empty"] != total:
        raise RuntimeError(f"ingest stored {inserted} of {total}")
    return {"big_per_s": total / spent["big"], "empty_per_s": total / spent["empty"]}


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000, help="punches in the history")
    ap.add_argument("--runs", type=int, default=7, help="lateness report runs")
    ap.add_argument("--ingest", type=int, default=200_000, help="punches ingested into each")
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    try:
        big = database("punchgate_bench_history")
        empty = database("punchgate_bench_history_empty")
    except RuntimeError as exc:
        emit({"benchmark": "history", "skipped": str(exc), "targets": []})
        return
    days = workdays(max(1, args.rows // (EMPLOYEES * PUNCHES_PER_DAY)))
    result: dict[str, Any] = {"benchmark": "history", "backend": "postgresql"}
    try:
        result["fill"] = fill(big, days)
        result["workdays"] = len(days)
        result["history"] = f"{days[0]} … {days[-1]}"
        month_start = days[-1].replace(day=1)
        result["load_average_report"] = load_average()
        times, rows = report_runs(big, month_start, days[-1], args.runs)
        result["lateness_month"] = f"{month_start} … {days[-1]}"
        result["lateness_rows"] = rows
        result["lateness_s"] = [round(t, 3) for t in times]
        p50 = statistics.median(times)
        fix_big = first_fix_lookup(big, args.runs)
        fix_empty = first_fix_lookup(empty, args.runs)
        result["phone_first_fix_lookup_s"] = {
            "history": round(statistics.median(fix_big), 4),
            "empty": round(statistics.median(fix_empty), 4),
        }
        result["load_average_ingest"] = load_average()
        rates = ingest_pair(big, empty, args.ingest, args.batch)
    finally:
        big.dispose()
        empty.dispose()
    ratio = rates["big_per_s"] / rates["empty_per_s"]
    result.update(
        ingest_rows=args.ingest,
        ingest_into_history_per_s=round(rates["big_per_s"]),
        ingest_into_empty_per_s=round(rates["empty_per_s"]),
        ingest_ratio=round(ratio, 3),
    )
    at_size = result["fill"]["punches"] >= TARGET_ROWS
    n = f"{result['fill']['punches']:,}"
    result["targets"] = [
        target(
            f"lateness report, one month, {EMPLOYEES:,} employees, {n} punches, p50 (s)",
            f"≤ {TARGET_P50_S:g}",
            round(p50, 3),
            p50 <= TARGET_P50_S and rows == EMPLOYEES,
            at_size=at_size,
        ),
        target(
            f"ingest into {n} punches vs an empty table (×)",
            f"≥ {TARGET_RATIO:g}",
            round(ratio, 3),
            ratio >= TARGET_RATIO,
            at_size=at_size,
        ),
    ]
    emit(result)


if __name__ == "__main__":
    main()
