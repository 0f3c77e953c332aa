"""Benchmark the payroll export of a closed month; prints one JSON object.

A month (31 days) of attendance days for 10,000 employees is written straight into an
empty SQLite store and closed (closed_days rows as a close writes them). The export then
runs in a child process of its own, so its peak memory is its own: figures per employee
(SQL aggregates over the frozen days, leave and adjustments), shaped by the shipped wide
profile and written as CSV. Beside it, in the same run, raw sqlite3 runs one GROUP BY
over the same rows and writes them with the csv module: the floor for reading and
writing the same figures. Targets: ≤ 10 s and ≤ 300 MB for 10,000 employees.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import emit, target

from collector.store.db import make_engine, upgrade

TARGET_S, TARGET_MB, TARGET_EMPLOYEES = 10.0, 300.0, 10_000
START = date(2026, 10, 1)
DAYS = [START + timedelta(days=i) for i in range(31)]
NOW = datetime(2026, 11, 15, tzinfo=UTC)


def seed(path: Path, employees: int) -> int:
    """Employees, their month of computed days, the close; returns the period's id."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    rng = random.Random(7)
    db = sqlite3.connect(path)
    now = NOW.replace(tzinfo=None).isoformat(sep=" ")
    db.executemany(
        "INSERT INTO departments (id, code, name) VALUES (?, ?, ?)",
        [(d, f"D{d}", f"Department {d}") for d in range(1, 21)],
    )
    db.executemany(
        "INSERT INTO employees (id, code, name, department_id, identities, created_at)"
        " VALUES (?, ?, ?, ?, '{}', ?)",
        [(e, f"{e:06d}", f"Employee {e}", e % 20 + 1, now) for e in range(1, employees + 1)],
    )
    db.execute(
        "INSERT INTO pay_calendars (id, code, name, kind, start_day, created_at)"
        " VALUES (1, 'monthly', 'Monthly', 'monthly', 1, ?)",
        (now,),
    )
    db.execute(
        'INSERT INTO pay_periods (id, calendar_id, start, "end", status, closed_at, closed_by,'
        " overrides, employees) VALUES (1, 1, ?, ?, 'closed', ?, 'bench', '{}', ?)",
        (DAYS[0].isoformat(), DAYS[-1].isoformat(), now, employees),
    )
    for e in range(1, employees + 1):
        rows, closed = [], []
        for day in DAYS:
            weekend = day.weekday() >= 5
            status = rng.choice(["present"] * 8 + ["late", "absent", "leave:annual"])
            status = "rest_day" if weekend else status
            worked = (
                0 if status in ("absent", "rest_day", "leave:annual") else rng.randint(7, 10) * 3600
            )
            late = rng.randint(60, 1800) if status == "late" else 0
            overtime = (
                json.dumps({"regular": max(0, worked - 8 * 3600)}) if worked > 8 * 3600 else "{}"
            )
            rows.append(
                (
                    e,
                    day.isoformat(),
                    status,
                    worked,
                    late,
                    overtime,
                    0 if weekend else 8 * 3600,
                    now,
                )
            )
            closed.append((e, day.isoformat()))
        db.executemany(
            "INSERT INTO attendance_days (employee_id, local_date, status, provisional, worked_s,"
            " break_s, late_s, early_leave_s, overtime, balance_delta_s, anomalies, explanation,"
            " target_s, core_missed_s, computed_at)"
            " VALUES (?, ?, ?, 0, ?, 0, ?, 0, ?, 0, '[]', '[]', ?, 0, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO closed_days (employee_id, local_date, period_id, punch_ids)"
            " VALUES (?, ?, 1, '[]')",
            closed,
        )
    db.commit()
    db.close()
    return 1


def ours(path: str, out: str, queue: Any) -> None:
    """Child: the export as the API and CLI run it."""
    from collector.periods.payroll import csv_chunks, payroll_figures, period_of, profiles, shape

    engine = make_engine(f"sqlite:///{path}")
    began = time.perf_counter()
    with engine.connect() as conn, open(out, "wb") as f:
        period, _ = period_of(conn, 1)
        profile = profiles()["generic-wide-en"]
        for chunk in csv_chunks(shape(payroll_figures(conn, 1), profile, period), profile):
            f.write(chunk)
    took = time.perf_counter() - began
    queue.put((took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def raw(path: str, out: str, queue: Any) -> None:
    """Child: one GROUP BY through sqlite3 written with csv, the floor."""
    began = time.perf_counter()
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT e.code, e.name, sum(a.target_s), sum(a.worked_s), sum(a.late_s),"
        " sum(a.status = 'late'), sum(a.status = 'absent'),"
        " sum(coalesce(json_extract(a.overtime, '$.regular'), 0))"
        " FROM attendance_days a JOIN closed_days c ON c.employee_id = a.employee_id"
        " AND c.local_date = a.local_date JOIN employees e ON e.id = a.employee_id"
        " WHERE c.period_id = 1 GROUP BY a.employee_id ORDER BY e.code"
    )
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        for row in rows:
            w.writerow(row)
    took = time.perf_counter() - began
    queue.put((took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def run(fn: Any, path: Path, out: Path) -> tuple[float, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=fn, args=(str(path), str(out), queue))
    proc.start()
    took, peak_mb = queue.get(timeout=600)
    proc.join()
    return took, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=TARGET_EMPLOYEES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="punchgate-bench-payroll-") as tmp:
        path = Path(tmp) / "store.sqlite3"
        began = time.perf_counter()
        seed(path, args.employees)
        seeded = time.perf_counter() - began
        ours_s, ours_mb = run(ours, path, Path(tmp) / "ours.csv")
        raw_s, raw_mb = run(raw, path, Path(tmp) / "raw.csv")
        lines = len((Path(tmp) / "ours.csv").read_text(encoding="utf-8-sig").splitlines())
    at_size = args.employees >= TARGET_EMPLOYEES
    emit(
        {
            "benchmark": "payroll",
            "employees": args.employees,
            "days": args.employees * len(DAYS),
            "rows_written": lines - 1,
            "seed_s": round(seeded, 2),
            "ours_s": round(ours_s, 3),
            "ours_peak_mb": round(ours_mb, 1),
            "raw_sqlite_s": round(raw_s, 3),
            "raw_peak_mb": round(raw_mb, 1),
            "ratio_raw_over_ours": round(raw_s / ours_s, 3),
            "targets": [
                target(
                    f"payroll export, a month for {args.employees:,} employees (s)",
                    f"≤ {TARGET_S:g} s",
                    round(ours_s, 2),
                    ours_s <= TARGET_S,
                    at_size=at_size,
                ),
                target(
                    "payroll export peak memory of the exporting process (MB)",
                    f"≤ {TARGET_MB:g} MB",
                    round(ours_mb, 1),
                    ours_mb <= TARGET_MB,
                    at_size=at_size,
                ),
            ],
        }
    )


if __name__ == "__main__":
    main()
