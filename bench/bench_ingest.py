"""Ingest throughput on SQLite and PostgreSQL beside the raw driver's executemany.

Ours: RawPunch batches of 10,000 → normalize → ingest (dedupe lookups, insert ignore,
employee links, dirty marks), committed per batch. Physical limit: the DB-API
`executemany` of the very same rows into a table of the same shape (same indexes and
unique key), committed per batch, in the same run. Also: re-ingest of everything
(must insert 0 and be no slower) and the peak memory of importing a CSV of as many rows.

Targets, at 1,000,000 rows: 100,000 punches/s on SQLite and 50,000/s on PostgreSQL, each
at least half the raw driver's rate; the import under 300 MB.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from common import PG_URL, WORK, emit, fresh_pg_database, target, timed
from sqlalchemy import Engine, text

from collector.normalize import NormalizePolicy, RawPunch, normalize
from collector.store.db import make_engine, upgrade
from collector.store.ingest import PUNCH_COLUMNS, db_date, db_time, ingest_batch
from collector.store.models import Employee, Punch
from rules.vocabulary import SourceKind

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = NormalizePolicy()
START = datetime(2026, 1, 5, 7, 0)
EMPLOYEES = 5000
TARGET_ROWS = 1_000_000
TARGET_PER_S = {"sqlite": 100_000, "postgresql": 50_000}
TARGET_RATIO = 0.5  # of the raw driver's executemany
TARGET_IMPORT_MB = 300


def batches(total: int, size: int) -> Iterator[list[RawPunch]]:
    """Deterministic punches: employees × days, spread across devices."""
    n = 0
    while n < total:
        chunk = []
        for i in range(n, min(n + size, total)):
            emp = i % EMPLOYEES
            step = i // EMPLOYEES
            chunk.append(
                RawPunch(
                    employee_code=str(10000 + emp),
                    timestamp=START + timedelta(minutes=step * 7, seconds=emp % 60),
                    source_kind=SourceKind.TERMINAL,
                    tz="Europe/Berlin",
                    device_code=f"door-{emp % 20}",
                    state=step % 2,
                    verify=1 if emp % 3 else 15,
                )
            )
        n += len(chunk)
        yield chunk


def seed_employees(engine: Engine) -> None:
    """Half the codes belong to known employees, so links and dirty marks are exercised."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO employees (code, name, identities, created_at) VALUES "
                "(:code, :name, '{}', :now)"
            ),
            [{"code": str(10000 + e), "name": f"E{e}", "now": NOW} for e in range(0, EMPLOYEES, 2)],
        )


def raw_rows(batch: list[RawPunch], dialect: str) -> list[tuple[Any, ...]]:
    """The same rows ours would store, as ready tuples for the driver."""
    out = []
    for raw in batch:
        r = normalize(raw, now=NOW, policy=POLICY)
        out.append(
            (
                r["dedupe_key"],
                r["employee_code"],
                db_time(r["occurred_at"], dialect),
                r["tz"],
                db_date(r["local_date"], dialect),
                r["source_kind"],
                r["device_code"],
                r["verify"],
                r["state"],
                r["lat"],
                r["lon"],
                r["accuracy_m"],
                r["site_code"],
                r["distance_m"],
                r["geo_decision"],
                r["flags"],
                r["source_ref"],
                r["voids_punch_id"],
                r["note"],
                r["raw"],
                None,
                db_time(NOW, dialect),
            )
        )
    return out


def make_raw_table(engine: Engine) -> None:
    """A copy of the punches table's shape: columns, unique key, indexes, foreign key."""
    from sqlalchemy import MetaData, quoted_name

    meta = MetaData()
    Employee.metadata.tables[Employee.__tablename__].to_metadata(meta)
    table = Punch.metadata.tables[Punch.__tablename__].to_metadata(meta, name="punches_raw")
    for index in table.indexes:
        if index.name is not None:
            index.name = quoted_name(index.name.replace("punches", "punches_raw"), index.name.quote)
    for constraint in table.constraints:
        if constraint.name and "punches" in str(constraint.name):
            constraint.name = str(constraint.name).replace("punches", "punches_raw")
    table.create(engine)


def run_backend(url: str, total: int, size: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    seed_employees(engine)
    make_raw_table(engine)
    dialect = engine.dialect.name
    res: dict[str, Any] = {"backend": dialect, "rows": total, "batch": size}

    # CPU time of this process beside each wall time: other work on the machine inflates
    # the wall times, much less the CPU (PostgreSQL's own CPU is not in it).
    ours = ours_cpu = 0.0
    inserted = 0
    for chunk in batches(total, size):
        t, c = time.perf_counter(), time.process_time()
        r = ingest_batch(engine, chunk, now=NOW, policy=POLICY)
        ours += time.perf_counter() - t
        ours_cpu += time.process_time() - c
        inserted += r.inserted
    again = 0.0
    reinserted = 0
    for chunk in batches(total, size):
        t = time.perf_counter()
        r = ingest_batch(engine, chunk, now=NOW, policy=POLICY)
        again += time.perf_counter() - t
        reinserted += r.inserted

    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        f"INSERT INTO punches_raw ({', '.join(PUNCH_COLUMNS)}) VALUES "
        f"({', '.join([mark] * len(PUNCH_COLUMNS))})"
    )
    raw = raw_cpu = 0.0
    for chunk in batches(total, size):
        rows = raw_rows(chunk, dialect)
        conn = engine.raw_connection()
        try:
            t, c = time.perf_counter(), time.process_time()
            cur = conn.cursor()
            cur.executemany(sql, rows)
            conn.commit()
            raw += time.perf_counter() - t
            raw_cpu += time.process_time() - c
        finally:
            conn.close()
    engine.dispose()
    res.update(
        inserted=inserted,
        reingest_inserted=reinserted,
        ours_s=round(ours, 2),
        ours_cpu_s=round(ours_cpu, 2),
        reingest_s=round(again, 2),
        raw_driver_s=round(raw, 2),
        raw_driver_cpu_s=round(raw_cpu, 2),
        ours_per_s=round(total / ours),
        reingest_per_s=round(total / again),
        raw_driver_per_s=round(total / raw),
        ratio_ours_to_raw=round(raw / ours, 3),
        reingest_to_ingest_time=round(again / ours, 3),
    )
    return res


def import_memory(rows: int) -> dict[str, Any]:
    """Peak RSS of `punchgate import` on a CSV of `rows` rows, in a child process."""
    WORK.mkdir(parents=True, exist_ok=True)
    csv_path = WORK / "import.csv"
    with csv_path.open("w") as f:
        f.write("employee_code,timestamp,state,device\n")
        for i in range(rows):
            emp = i % EMPLOYEES
            when = START + timedelta(minutes=(i // EMPLOYEES) * 7, seconds=emp % 60)
            f.write(f"{20000 + emp},{when:%Y-%m-%d %H:%M:%S},{(i // EMPLOYEES) % 2},door-1\n")
    db = WORK / "import.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"import.sqlite3{suffix}").unlink(missing_ok=True)
    env = {"PUNCHGATE_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}
    res: dict[str, Any] = {"rows": rows}
    # The import refuses a database that does not exist yet: create it first (not timed).
    subprocess.run(
        [sys.executable, "-m", "api.main", "db", "upgrade"],
        env=env,
        capture_output=True,
        check=True,
    )
    with timed(res, "import_s"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.main",
                "import",
                str(csv_path),
                "--timezone",
                "Europe/Berlin",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res.update(
        exit_code=out.returncode,
        summary=out.stdout.strip()[:200],
        peak_rss_mb=round(peak_kb / 1024, 1),
    )
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "ingest.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"ingest.sqlite3{suffix}").unlink(missing_ok=True)
    result: dict[str, Any] = {"bench": "ingest"}
    result["import"] = import_memory(args.rows)
    result["sqlite"] = run_backend(f"sqlite:///{db}", args.rows, args.batch)
    if not args.skip_postgres:
        url = fresh_pg_database(PG_URL)
        result["postgresql"] = run_backend(url, args.rows, args.batch) if url else "unreachable"
    shutil.rmtree(WORK / "unused", ignore_errors=True)
    result["targets"] = targets(result, args.rows)
    emit(result)


def targets(result: dict[str, Any], rows: int) -> list[dict[str, Any]]:
    """Each target with this run's figure; a backend not run or unreachable is not judged."""
    at_size = rows >= TARGET_ROWS
    peak = result["import"]["peak_rss_mb"]
    out = [
        target(
            f"import {rows:,} CSV rows, peak RSS (MB)",
            f"≤ {TARGET_IMPORT_MB}",
            peak,
            result["import"]["exit_code"] == 0 and peak <= TARGET_IMPORT_MB,
            at_size=at_size,
        )
    ]
    for backend, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        found = result.get(backend)
        ran = isinstance(found, dict)
        run: dict[str, Any] = found if isinstance(found, dict) else {}
        rate = run.get("ours_per_s")
        ratio = run.get("ratio_ours_to_raw")
        out += [
            target(
                f"ingest {rows:,} punches, {name} (punches/s)",
                f"≥ {TARGET_PER_S[backend]:,}",
                rate,
                rate is not None and rate >= TARGET_PER_S[backend],
                at_size=at_size and ran,
            ),
            target(
                f"ingest, {name}, rate vs the raw driver's executemany (×)",
                f"≥ {TARGET_RATIO}",
                ratio,
                ratio is not None and ratio >= TARGET_RATIO,
                at_size=at_size and ran,
            ),
            target(
                f"re-ingest, {name}: nothing inserted, time vs first ingest (×)",
                "≤ 1",
                run.get("reingest_to_ingest_time"),
                ran and run["reingest_inserted"] == 0 and run["reingest_to_ingest_time"] <= 1,
                at_size=ran,
            ),
        ]
    return out


if __name__ == "__main__":
    main()
