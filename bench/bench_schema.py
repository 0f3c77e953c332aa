"""Where the write path's time goes: the punch table built up step by step, and our ingest's.

1. Table steps, per backend: the same rows (bench_ingest's, normalised once) written with
   the driver's `executemany` of INSERT … ON CONFLICT DO NOTHING, committed per batch,
   into a fresh table that grows one step at a time: the dedupe key alone, then each
   column group, then each index, then the foreign key (the whole punches table). Both
   key designs: `hex128` (32 random hex characters, before 0019) and `int64` (0019's
   64-bit key in wall-clock order).
2. Our ingest's steps on the same rows into a migrated store: normalise, key lookups,
   employee links, insert, dirty marks, event subscribers, commit — each timed around its
   call (normalise as a pass of its own over the same rows; the store row is completed in
   place since the write-path work, so row building counts under "other").
3. The query plans of the hot reads (EXPLAIN) on the ingested store.

Prints one JSON object. Flags: --rows, --batch, --skip-postgres.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script

from bench_ingest import NOW, POLICY, batches, seed_employees
from common import PG_URL, WORK, emit, fresh_pg_database, target
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from collector.normalize import Normalizer, wall_basis, wall_time, zone
from collector.store import ingest as ingest_module
from collector.store.db import make_engine, upgrade

CORE = (
    "employee_code VARCHAR(64) NOT NULL, employee_id INTEGER, occurred_at TIMESTAMP NOT NULL,"
    " tz VARCHAR(64) NOT NULL, local_date DATE NOT NULL, source_kind VARCHAR(16) NOT NULL,"
    " device_code VARCHAR(64), verify VARCHAR(16) NOT NULL, state VARCHAR(16) NOT NULL,"
    " flags INTEGER NOT NULL, received_at TIMESTAMP NOT NULL"
)
GPS = (
    "lat FLOAT, lon FLOAT, accuracy_m FLOAT, site_code VARCHAR(64), distance_m FLOAT,"
    " geo_decision VARCHAR(32), distance_band VARCHAR(32)"
)
REFS = "source_ref VARCHAR(200), voids_punch_id BIGINT, note TEXT, raw TEXT"
CORE_COLS = (
    "employee_code",
    "employee_id",
    "occurred_at",
    "tz",
    "local_date",
    "source_kind",
    "device_code",
    "verify",
    "state",
    "flags",
    "received_at",
)
GPS_COLS = ("lat", "lon", "accuracy_m", "site_code", "distance_m", "geo_decision", "distance_band")
REFS_COLS = ("source_ref", "voids_punch_id", "note", "raw")
INDEXES = {
    "+ix employee_time": "CREATE INDEX s_emp ON {t} (employee_id, occurred_at)",
    "+ix occurred_at": "CREATE INDEX s_at ON {t} (occurred_at)",
    "+ix unlinked code (partial)": (
        "CREATE INDEX s_unl ON {t} (employee_code) WHERE employee_id IS NULL"
    ),
}
STEPS = ("key only", "+core columns", "+gps columns", "+ref/raw columns", *INDEXES, "+fk")


def prepared_rows(total: int, size: int, dialect: str) -> list[list[dict[str, Any]]]:
    """bench_ingest's punches normalised once, with both keys, as the driver wants them."""
    out = []
    for chunk in batches(total, size):
        norm = Normalizer(now=NOW, policy=POLICY)
        rows = []
        for raw in chunk:
            r = norm(raw)
            wall = wall_time(r["occurred_at"], zone(r["tz"]), r["flags"])
            hex_key = hashlib.blake2b(
                wall_basis(r["employee_code"], wall).encode(), digest_size=16
            ).hexdigest()
            rows.append(
                {
                    **r,
                    "hex128": hex_key,
                    "int64": r["dedupe_key"],
                    "occurred_at": ingest_module.db_time(r["occurred_at"], dialect),
                    "local_date": ingest_module.db_date(r["local_date"], dialect),
                    "received_at": ingest_module.db_time(NOW, dialect),
                    "distance_band": None,
                    "employee_id": None,
                }
            )
        out.append(rows)
    return out


def table_steps(engine: Engine, data: list[list[dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    """Insert the rows into a fresh table at each step; rows per second at each."""
    dialect = engine.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    key_type = "VARCHAR(32)" if key == "hex128" else "BIGINT"
    pk = "id INTEGER PRIMARY KEY" if dialect == "sqlite" else "id BIGSERIAL PRIMARY KEY"
    total = sum(len(b) for b in data)
    out = []
    for n, step in enumerate(STEPS):
        columns: tuple[str, ...] = ("dedupe_key",)
        ddl = [pk, f"dedupe_key {key_type} NOT NULL UNIQUE"]
        for k, (group, cols) in enumerate(((CORE, CORE_COLS), (GPS, GPS_COLS), (REFS, REFS_COLS))):
            if n >= k + 1:
                ddl.append(group)
                columns += cols
        if step == "+fk":
            ddl.append("FOREIGN KEY (employee_id) REFERENCES employees (id)")
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("DROP TABLE IF EXISTS schema_step")
            cur.execute(f"CREATE TABLE schema_step ({', '.join(ddl)})")
            for name, sql in INDEXES.items():
                if STEPS.index(name) <= n:
                    cur.execute(sql.format(t="schema_step"))
            raw.commit()
            sql = (
                f"INSERT INTO schema_step ({', '.join(columns)}) VALUES"
                f" ({', '.join([mark] * len(columns))}) ON CONFLICT (dedupe_key) DO NOTHING"
            )
            tuples = [
                [tuple(r[key] if c == "dedupe_key" else r[c] for c in columns) for r in b]
                for b in data
            ]
            started = time.perf_counter()
            for rows in tuples:
                cur.executemany(sql, rows)
                raw.commit()
            seconds = time.perf_counter() - started
            cur.execute("DROP TABLE schema_step")
            raw.commit()
        finally:
            raw.close()
        out.append({"step": step, "rows_per_s": round(total / seconds), "s": round(seconds, 2)})
    return out


class StepTimer:
    """Seconds spent in each wrapped function of the ingest module (bench only)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, label: str) -> None:
        """Replace ingest_module.<name> with a timed wrapper booked under `label`."""
        inner: Callable[..., Any] = getattr(ingest_module, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

        setattr(ingest_module, name, timed)


def ingest_steps(url: str, total: int, size: int) -> dict[str, Any]:
    """Our ingest into a migrated store, each step's share of the time."""
    engine = make_engine(url)
    upgrade(engine)
    seed_employees(engine)
    timer = StepTimer()
    for name, label in (
        ("stored_identities", "key lookups"),
        ("_max_key", "key lookups"),
        ("employee_ids", "employee links"),
        ("_insert_ignore", "insert"),
        ("_copy_insert", "insert"),
        ("_copy_direct", "insert"),
        ("_mark_stored_days", "dirty marks"),
        ("subscribers", "event subscribers"),
    ):
        timer.wrap(name, label)
    normalise = ingest_total = commit = 0.0
    for chunk in batches(total, size):
        start = time.perf_counter()
        values = Normalizer(now=NOW, policy=POLICY).values  # what ingest calls per row
        for raw in chunk:
            values(raw)
        normalise += time.perf_counter() - start
        with engine.connect() as conn:
            transaction = conn.begin()  # as ingest_batch: the driver's cursor writes in it
            start = time.perf_counter()
            ingest_module.ingest(conn, chunk, now=NOW, policy=POLICY)
            middle = time.perf_counter()
            transaction.commit()
            commit += time.perf_counter() - middle
            ingest_total += middle - start
    steps = {"normalise (own pass)": normalise, **timer.seconds, "commit": commit}
    accounted = sum(v for k, v in steps.items() if k != "commit")
    # Normalise runs inside ingest too: what the wrappers and that pass do not cover.
    steps["other (dedupe in batch, loops)"] = max(0.0, ingest_total - accounted)
    whole = ingest_total + commit
    res = {
        "rows": total,
        "ingest_per_s": round(total / whole),
        "steps": {k: {"s": round(v, 2), "share": round(v / whole, 3)} for k, v in steps.items()},
    }
    res["plans"] = plans(engine)
    engine.dispose()
    return res


def plans(engine: Engine) -> dict[str, list[str]]:
    """EXPLAIN of the hot reads on the store just ingested into."""
    dialect = engine.dialect.name
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with engine.begin() as conn:  # the data's own range, so the plans are the real ones
        conn.execute(text("ANALYZE"))
        first_at, first_day = conn.execute(
            text("SELECT min(occurred_at), min(local_date) FROM punches")
        ).one()
    if isinstance(first_at, str):
        first_at = datetime.fromisoformat(first_at)
    if isinstance(first_day, str):
        first_day = date.fromisoformat(first_day)
    start = first_at.replace(tzinfo=UTC)
    lo = ingest_module.db_time(start, dialect)
    hi = ingest_module.db_time(start + timedelta(days=31), dialect)
    day = ingest_module.db_date(first_day, dialect)
    reads = {
        "punch page (newest first)": (
            "SELECT * FROM punches ORDER BY occurred_at DESC, id DESC LIMIT 100",
            {},
        ),
        "punch page (a department, a day)": (
            "SELECT * FROM punches WHERE employee_id IN (SELECT id FROM employees"
            " WHERE department_id = 1) AND occurred_at >= :lo AND occurred_at < :hi"
            " ORDER BY occurred_at, id LIMIT 101",
            {"lo": lo, "hi": hi},
        ),
        "employee month / day recompute": (
            "SELECT id, employee_id, occurred_at, state FROM punches WHERE employee_id IN (1, 2)"
            " AND occurred_at >= :lo AND occurred_at < :hi AND state <> 'void'",
            {"lo": lo, "hi": hi},
        ),
        "employee day (report)": (
            "SELECT * FROM punches WHERE employee_id = 1 AND local_date = :day"
            " ORDER BY occurred_at, id",
            {"day": day},
        ),
        "link an employee": (
            "SELECT DISTINCT local_date FROM punches WHERE employee_code = '10001'"
            " AND employee_id IS NULL",
            {},
        ),
        "ingest key lookup": (
            "SELECT dedupe_key, employee_code FROM punches WHERE dedupe_key IN (1, 2, 3)",
            {},
        ),
        "lateness report (attendance_days only)": (
            "SELECT employee_id, SUM(late_s) FROM attendance_days WHERE local_date >= :d"
            " AND local_date <= :d GROUP BY employee_id",
            {"d": day},
        ),
    }
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for name, (sql, params) in reads.items():
            rows = conn.execute(text(explain + sql), params).all()
            out[name] = [str(r[-1]) for r in rows]
    return out


def run_backend(url: str, rows: int, size: int) -> dict[str, Any]:
    """Both parts on one backend."""
    engine = make_engine(url)
    upgrade(engine)  # the employees table the foreign key step points at
    data = prepared_rows(rows, size, engine.dialect.name)
    res: dict[str, Any] = {"backend": engine.dialect.name, "rows": rows, "batch": size}
    for key in ("hex128", "int64"):
        res[f"table_steps_{key}"] = table_steps(engine, data, key)
    engine.dispose()
    return res


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"bench": "schema", "rows": args.rows}
    urls = {}
    for name in ("schema_steps", "schema_ingest"):
        path = WORK / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        urls[name] = f"sqlite:///{path}"
    result["sqlite"] = run_backend(urls["schema_steps"], args.rows, args.batch)
    result["sqlite"]["ours"] = ingest_steps(urls["schema_ingest"], args.rows, args.batch)
    if not args.skip_postgres:
        base = make_url(PG_URL)
        steps = fresh_pg_database(
            base.set(database=f"{base.database}_steps").render_as_string(False)
        )
        ours = fresh_pg_database(base.set(database=f"{base.database}_ours").render_as_string(False))
        if steps and ours:
            result["postgresql"] = run_backend(steps, args.rows, args.batch)
            result["postgresql"]["ours"] = ingest_steps(ours, args.rows, args.batch)
        else:
            result["postgresql"] = "unreachable"
    shutil.rmtree(WORK / "unused", ignore_errors=True)
    result["targets"] = targets(result)
    emit(result)


def _named(base: Any, suffix: str) -> str:
    return str(base.set(database=f"{base.database}_{suffix}").render_as_string(False))


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours against the key-only table with 0019's key (the floor of any design)."""
    out = []
    for backend in ("sqlite", "postgresql"):
        run = result.get(backend)
        if not isinstance(run, dict):
            continue
        floor = run["table_steps_int64"][0]["rows_per_s"]
        ratio = round(run["ours"]["ingest_per_s"] / floor, 3)
        out.append(
            target(
                f"ingest, {backend}, vs the driver into a key-only table (×)",
                "≥ 0.5",
                ratio,
                ratio >= 0.5,
                at_size=result["rows"] >= 1_000_000,
            )
        )
    return out


if __name__ == "__main__":
    main()
