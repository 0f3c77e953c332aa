"""Ingest throughput on SQLite and PostgreSQL beside the raw driver's executemany.

Ours: RawPunch batches of 10,000 → normalize → ingest (dedupe lookups, insert ignore,
employee links, dirty marks), committed per batch. Physical limit: the DB-API
`executemany` of the very same rows (the columns they have) into a table of the same
shape (same indexes and unique key), and of their keys alone into a table with only the
dedupe key (the floor of any design), committed per batch, in the same run. Also:
re-ingest of everything (must insert 0 and be no slower) and the peak memory of importing
a CSV of as many rows.

Targets (issue 19), at 1,000,000 rows: 60,000 punches/s on SQLite and 40,000/s on
PostgreSQL, at least half the driver's rate into the key-only table; the import under
300 MB. `--sqlite-page-sizes 4096,32768` runs SQLite once per page size (the store's is
32 KiB since issue 19; 4 KiB is SQLite's default and older stores').
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
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
from collector.store.ingest import (
    DENSE_COLUMNS,
    PUNCH_COLUMNS,
    SPARSE,
    db_date,
    db_time,
    ingest_batch,
)
from collector.store.models import Employee, Punch
from rules.vocabulary import SourceKind

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = NormalizePolicy()
START = datetime(2026, 1, 5, 7, 0)
EMPLOYEES = 5000
TARGET_ROWS = 1_000_000
TARGET_PER_S = {"sqlite": 60_000, "postgresql": 40_000}
TARGET_RATIO = 0.5  # of the driver's executemany into a key-only table
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


def make_key_only_table(engine: Engine) -> None:
    """A table with an id and the unique dedupe key only: the floor of any punch table."""
    ident = "INTEGER PRIMARY KEY" if engine.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE punches_keyonly (id {ident}, dedupe_key BIGINT NOT NULL UNIQUE)")
        )


def driver_insert(engine: Engine, sql: str, rows: list[Any]) -> tuple[float, float]:
    """One committed `executemany` on a raw connection: (wall, CPU) seconds."""
    conn = engine.raw_connection()
    try:
        t, c = time.perf_counter(), time.process_time()
        cur = conn.cursor()
        cur.executemany(sql, rows)
        conn.commit()
        return time.perf_counter() - t, time.process_time() - c
    finally:
        conn.close()


def run_backend(url: str, total: int, size: int, page_size: int | None = None) -> dict[str, Any]:
    if page_size is not None:  # SQLite fixes the page size when the file is created
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as made:
            made.execute(f"PRAGMA page_size={page_size}")
            made.execute("PRAGMA journal_mode=WAL")
    engine = make_engine(url)
    upgrade(engine)
    seed_employees(engine)
    make_raw_table(engine)
    make_key_only_table(engine)
    dialect = engine.dialect.name
    res: dict[str, Any] = {"backend": dialect, "rows": total, "batch": size}
    if dialect == "sqlite":
        with engine.connect() as conn:
            res["page_size"] = conn.exec_driver_sql("PRAGMA page_size").scalar_one()

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

    # The driver writes the columns these terminal punches have (the sparse ones are NULL
    # for all of them), as ours does on SQLite: the faster statement for the same rows.
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        f"INSERT INTO punches_raw ({', '.join(DENSE_COLUMNS)}) VALUES "
        f"({', '.join([mark] * len(DENSE_COLUMNS))})"
    )
    dense = [PUNCH_COLUMNS.index(c) for c in DENSE_COLUMNS]
    sparse = [PUNCH_COLUMNS.index(c) for c in SPARSE]
    key_sql = f"INSERT INTO punches_keyonly (dedupe_key) VALUES ({mark})"
    raw = raw_cpu = key_only = 0.0
    for chunk in batches(total, size):
        rows = raw_rows(chunk, dialect)
        assert all(row[i] is None for row in rows for i in sparse)
        rows = [tuple(row[i] for i in dense) for row in rows]
        wall, cpu = driver_insert(engine, sql, rows)
        raw, raw_cpu = raw + wall, raw_cpu + cpu
        key_only += driver_insert(engine, key_sql, [(r[0],) for r in rows])[0]
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
        key_only_driver_per_s=round(total / key_only),
        ratio_ours_to_raw=round(raw / ours, 3),
        ratio_ours_to_key_only=round(key_only / ours, 3),
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
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--sqlite-page-sizes",
        default="",
        help="comma-separated page sizes to run SQLite at besides the store's own",
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"bench": "ingest"}
    if not args.skip_import:
        result["import"] = import_memory(args.rows)
    result["sqlite"] = run_backend(sqlite_file("ingest"), args.rows, args.batch)
    for page in [int(p) for p in args.sqlite_page_sizes.split(",") if p]:
        found = run_backend(sqlite_file(f"ingest-{page}"), args.rows, args.batch, page)
        result[f"sqlite_page_{page}"] = found
    if not args.skip_postgres:
        url = fresh_pg_database(PG_URL)
        result["postgresql"] = run_backend(url, args.rows, args.batch) if url else "unreachable"
    shutil.rmtree(WORK / "unused", ignore_errors=True)
    result["targets"] = targets(result, args.rows)
    emit(result)


def sqlite_file(name: str) -> str:
    """The URL of a new, empty SQLite file in the bench's work folder."""
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{WORK / f'{name}.sqlite3'}"


def targets(result: dict[str, Any], rows: int) -> list[dict[str, Any]]:
    """Each target with this run's figure; a backend not run or unreachable is not judged."""
    at_size = rows >= TARGET_ROWS
    imported = result.get("import", {})
    peak = imported.get("peak_rss_mb")
    out = [
        target(
            f"import {rows:,} CSV rows, peak RSS (MB)",
            f"≤ {TARGET_IMPORT_MB}",
            peak,
            peak is not None and imported["exit_code"] == 0 and peak <= TARGET_IMPORT_MB,
            at_size=at_size and peak is not None,
        )
    ]
    for backend, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        found = result.get(backend)
        ran = isinstance(found, dict)
        run: dict[str, Any] = found if isinstance(found, dict) else {}
        rate = run.get("ours_per_s")
        ratio = run.get("ratio_ours_to_key_only")
        out += [
            target(
                f"ingest {rows:,} punches, {name} (punches/s)",
                f"≥ {TARGET_PER_S[backend]:,}",
                rate,
                rate is not None and rate >= TARGET_PER_S[backend],
                at_size=at_size and ran,
            ),
            target(
                f"ingest, {name}, rate vs the driver into a key-only table (×)",
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
