"""Benchmark the rules engine and month recomputation; prints one JSON object.

1. evaluate_day on typical days (2–6 punches, flexitime and fixed shifts) on one core,
   beside a bare loop that only sums the pairs' durations of the same inputs.
2. Recomputing one month for N employees from stored punches on SQLite (read, evaluate,
   write, explanations included), beside raw sqlite3 reading the same punches and writing
   the same number of rows.

Default: 1,000 employees for part 2 (well under two minutes); --full runs 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from collector.days import recompute_range
from collector.store.db import make_engine, upgrade
from rules import Punch, evaluate_day, load_policy, site_calendar
from rules.vocabulary import PunchState

BERLIN = ZoneInfo("Europe/Berlin")
MONTH = [date(2026, 3, 1) + timedelta(days=i) for i in range(31)]
NOW = datetime(2026, 5, 1, tzinfo=UTC)

FLEX = {
    "target_min": 480,
    "flex": {
        "earliest_start": "07:00",
        "latest_start": "10:00",
        "earliest_end": "16:00",
        "latest_end": "20:00",
        "core": [{"start": "10:00", "end": "16:00"}],
    },
    "breaks": {
        "deductions": [{"after_min": 360, "break_min": 30}, {"after_min": 540, "break_min": 45}],
        "min_break_min": 15,
        "max_daily_min": 600,
    },
    "overtime": {"minimum_min": 15, "round_min": 15, "daily_cap_min": 120},
    "balance": {"carry_cap_min": 2400, "carry_floor_min": -1200},
}
FIXED = {
    "shift": {"start": "09:00", "end": "17:30", "grace_late_min": 5, "grace_early_min": 5},
    "target_min": 480,
    "breaks": {"deductions": [{"after_min": 360, "break_min": 30}], "min_break_min": 15},
    "overtime": {"basis": "after_shift_end", "minimum_min": 30, "round_min": 15},
}


def typical_day(rnd: random.Random, day: date) -> list[tuple[datetime, PunchState]]:
    """2, 3, 4 or 6 punches: in/out, a forgotten check-out, a lunch break, two breaks."""
    arrive = datetime(day.year, day.month, day.day, 7, 30, tzinfo=BERLIN) + timedelta(
        minutes=rnd.gauss(60, 30)
    )
    leave = arrive + timedelta(minutes=rnd.gauss(510, 30))
    shape = rnd.choices([2, 3, 4, 6], weights=[50, 5, 35, 10])[0]
    out = [(arrive, PunchState.IN)]
    if shape >= 4:
        lunch = arrive + timedelta(hours=4)
        out += [(lunch, PunchState.BREAK_OUT), (lunch + timedelta(minutes=30), PunchState.BREAK_IN)]
    if shape == 6:
        tea = arrive + timedelta(hours=2)
        out += [(tea, PunchState.OUT), (tea + timedelta(minutes=10), PunchState.IN)]
    if shape != 3:
        out.append((leave, PunchState.OUT))
    return [(t.astimezone(UTC), s) for t, s in out]


def bench_evaluate(days: int, seed: int = 1) -> dict[str, float]:
    rnd = random.Random(seed)
    cal = site_calendar("Europe/Berlin", "DE", "BE")
    policies = [load_policy("flex", "flexitime", FLEX), load_policy("fixed", "fixed", FIXED)]
    cases = []
    pid = 0
    workdays = [d for d in MONTH if d.weekday() < 5]
    for i in range(days):
        day = workdays[i % len(workdays)]
        ps = []
        for when, state in typical_day(rnd, day):
            pid += 1
            ps.append(Punch(pid, when, state))
        rnd.shuffle(ps)  # stored order is not guaranteed: the engine sorts
        cases.append((policies[i % 2], day, ps))
    for policy, day, ps in cases[:1000]:  # warm the day-plan caches
        evaluate_day(policy, day, ps, cal, NOW)

    t0, c0 = time.perf_counter(), time.process_time()
    checksum = 0
    for policy, day, ps in cases:
        checksum += evaluate_day(policy, day, ps, cal, NOW).worked_s
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0

    # Physical-limit baseline: sort the same punches and sum each pair's duration.
    t0, c0 = time.perf_counter(), time.process_time()
    base_sum = 0.0
    for _policy, _day, ps in cases:
        ts = sorted(p.ts for p in ps)
        for j in range(0, len(ts) - 1, 2):
            base_sum += ts[j + 1] - ts[j]
    base, base_cpu = time.perf_counter() - t0, time.process_time() - c0

    sample = cases[: max(1, days // 10)]
    c0 = time.process_time()
    texts = 0
    for policy, day, ps in sample:
        texts += len(evaluate_day(policy, day, ps, cal, NOW).explanation)
    explained_cpu = time.process_time() - c0
    return {
        "days": days,
        "evaluate_day_per_s": round(days / ours),
        "evaluate_day_per_cpu_s": round(days / ours_cpu),
        "baseline_pair_sum_per_s": round(days / base),
        "baseline_pair_sum_per_cpu_s": round(days / base_cpu),
        "ratio_ours_to_baseline_time": round(ours_cpu / base_cpu, 2),
        "with_explanation_rendered_per_cpu_s": round(len(sample) / explained_cpu),
        "decisions_rendered": texts,
        "target_per_s": 100_000,
        "checksum_worked_s": checksum,
    }


def build_store(path: Path, employees: int, seed: int = 2) -> int:
    """A migrated SQLite store with employees, policies, assignments and a month of punches."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    now = "2026-04-01 00:00:00.000000"
    conn.execute(
        "INSERT INTO sites (id, code, name, timezone, country, subdivision, fence)"
        " VALUES (1, 'hq', 'HQ', 'Europe/Berlin', 'DE', 'BE', '{}')"
    )
    conn.executemany(
        "INSERT INTO policies (id, name, kind, document, updated_at) VALUES (?, ?, ?, ?, ?)",
        [
            (1, "flex", "flexitime", json.dumps(FLEX), now),
            (2, "fixed", "fixed", json.dumps(FIXED), now),
        ],
    )
    conn.executemany(
        "INSERT INTO employees (id, code, name, site_id, identities, created_at)"
        " VALUES (?, ?, '', 1, '{}', ?)",
        [(i, str(100000 + i), now) for i in range(1, employees + 1)],
    )
    conn.executemany(
        "INSERT INTO policy_assignments (employee_id, policy_id, effective_from) VALUES (?, ?, ?)",
        [(i, 1 + i % 2, "2026-01-01") for i in range(1, employees + 1)],
    )
    rows = []
    key = 0
    for emp in range(1, employees + 1):
        for day in MONTH:
            if day.weekday() >= 5 or rnd.random() < 0.04:
                continue
            for when, state in typical_day(rnd, day):
                key += 1
                local = when.astimezone(BERLIN)
                rows.append(
                    (
                        f"{key:032x}",
                        str(100000 + emp),
                        emp,
                        when.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"),
                        "Europe/Berlin",
                        local.date().isoformat(),
                        "import",
                        "fingerprint",
                        state.value,
                        0,
                        now,
                    )
                )
    conn.executemany(
        "INSERT INTO punches (dedupe_key, employee_code, employee_id, occurred_at, tz, local_date,"
        " source_kind, verify, state, flags, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.commit()
    conn.close()
    return len(rows)


def bench_month(employees: int, workdir: Path) -> dict[str, float]:
    path = workdir / "month.sqlite3"
    punches = build_store(path, employees)
    engine = make_engine(f"sqlite:///{path}")
    t0, c0 = time.perf_counter(), time.process_time()
    result = recompute_range(engine, MONTH[0], MONTH[-1], now=NOW)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    engine.dispose()

    # Physical limit: read the same punches, write as many rows, with bare sqlite3.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE raw_days AS SELECT * FROM attendance_days WHERE 0")
    conn.execute("CREATE UNIQUE INDEX raw_days_key ON raw_days (employee_id, local_date)")
    t0, c0 = time.perf_counter(), time.process_time()
    read = conn.execute(
        "SELECT id, employee_id, occurred_at, state, source_kind, flags, voids_punch_id,"
        " device_code FROM punches WHERE occurred_at >= ? AND occurred_at < ?",
        ("2026-02-27", "2026-04-03"),
    ).fetchall()
    explanation = json.dumps([{"rule": "status", "outcome": "present", "text": "present"}] * 8)
    out = [
        (
            emp,
            day.isoformat(),
            1,
            "present",
            0,
            None,
            None,
            28800,
            0,
            0,
            0,
            "{}",
            0,
            "[]",
            explanation,
            "2026-05-01 00:00:00.000000",
            28800,
            0,
            None,
        )
        for emp in range(1, employees + 1)
        for day in MONTH
    ]
    conn.executemany(
        "INSERT INTO raw_days (employee_id, local_date, policy_id, status, provisional, first_in,"
        " last_out, worked_s, break_s, late_s, early_leave_s, overtime, balance_delta_s,"
        " anomalies, explanation, computed_at, target_s, core_missed_s, closes_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        out,
    )
    conn.commit()
    base, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return {
        "employees": employees,
        "punches": punches,
        "punches_read_raw": len(read),
        "days_written": result.written,
        "recompute_s": round(ours, 2),
        "recompute_cpu_s": round(ours_cpu, 2),
        "baseline_read_write_s": round(base, 2),
        "baseline_read_write_cpu_s": round(base_cpu, 2),
        "ratio_ours_to_baseline_time": round(ours / base, 1),
        "target_s_for_10000": 30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=200_000, help="employee-days to evaluate")
    parser.add_argument("--employees", type=int, default=1_000, help="employees in the month run")
    parser.add_argument("--full", action="store_true", help="the month run at 10,000 employees")
    args = parser.parse_args()
    employees = 10_000 if args.full else args.employees
    # The machine is shared: CPU seconds of this process say what one core does, wall
    # seconds what this run got; the load average says how crowded the machine was.
    out: dict[str, object] = {"load_average_1m": round(os.getloadavg()[0], 2)}
    out["evaluate_day"] = bench_evaluate(args.days)
    with tempfile.TemporaryDirectory(prefix="bench_rules_") as tmp:
        out["recompute_month_sqlite"] = bench_month(employees, Path(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
