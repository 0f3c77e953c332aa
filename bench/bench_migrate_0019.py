"""Migration 0019 (64-bit punch keys) on a large store, per backend.

A store at revision 0015 gets --rows punches written in SQL (text keys that are not the
rule's, so every row takes the slower path: the keepers' pass finds none, the second pass
looks each key up), then `upgrade` to head is timed. While it runs on PostgreSQL a reader
thread counts the punch page's query and records its slowest answer, which shows how long
readers were held up.

Prints one JSON object. Flags: --rows, --skip-sqlite, --skip-postgres.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a plain script

from common import PG_URL, WORK, emit, fresh_pg_database
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from collector.store.db import make_engine, upgrade

FILL = """
INSERT INTO punches (dedupe_key, employee_code, occurred_at, tz, local_date, source_kind,
  verify, state, flags, received_at)
SELECT {hex}, 'E' || (g % 10000), {at}, 'Europe/Berlin', {day}, 'terminal', 'fingerprint',
  'in', 0, {at}
FROM {series}
"""
PG_FILL = FILL.format(
    hex="md5(g::text)",
    at="timestamp '2026-01-05 06:00' + (g / 10000) * interval '7 minutes'"
    " + (g % 60) * interval '1 second'",
    day="date '2026-01-05' + (g / 10000 * 7 / 1440)",
    series="generate_series(1, :rows) AS s(g)",
)
SQLITE_FILL = (
    "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :rows) "
    + FILL.format(
        hex="lower(hex(randomblob(16)))",
        at="datetime('2026-01-05 06:00', '+' || (g / 10000 * 7) || ' minutes',"
        " '+' || (g % 60) || ' seconds')",
        day="date('2026-01-05', '+' || (g / 10000 * 7 / 1440) || ' days')",
        series="s",
    )
)


def run(engine: Engine, rows: int) -> dict[str, Any]:
    """Fill at 0015, then time the upgrade (and, on PostgreSQL, a reader's worst wait)."""
    upgrade(engine, "0015")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(PG_FILL if engine.dialect.name == "postgresql" else SQLITE_FILL), {"rows": rows}
        )
    fill_s = time.perf_counter() - started
    worst = [0.0, 0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(
                    text("SELECT id FROM punches ORDER BY occurred_at DESC LIMIT 100")
                ).all()
            worst[0] = max(worst[0], time.perf_counter() - t)
            worst[1] += 1
            time.sleep(0.05)

    thread = threading.Thread(target=reader, daemon=True)
    if engine.dialect.name == "postgresql":
        thread.start()
    started = time.perf_counter()
    upgrade(engine)
    upgrade_s = time.perf_counter() - started
    stop.set()
    if thread.is_alive():
        thread.join()
    with engine.connect() as conn:
        count, keyed = conn.execute(
            text("SELECT count(*), count(DISTINCT dedupe_key) FROM punches")
        ).one()
    res: dict[str, Any] = {
        "rows": rows,
        "fill_s": round(fill_s, 1),
        "upgrade_s": round(upgrade_s, 1),
        "rows_per_s": round(rows / upgrade_s),
        "distinct_keys": keyed == count == rows,
    }
    if worst[1]:
        res["reader_queries"] = worst[1]
        res["reader_worst_ms"] = round(worst[0] * 1000, 1)
    return res


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "migrate_0019", "rows": args.rows, "targets": []}
    if not args.skip_sqlite:
        WORK.mkdir(parents=True, exist_ok=True)
        path = WORK / "migrate.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
        result["sqlite"] = run(engine, args.rows)
        engine.dispose()
    if not args.skip_postgres:
        base = make_url(PG_URL)
        url = fresh_pg_database(
            base.set(database=f"{base.database}_migrate").render_as_string(False)
        )
        if url is None:
            result["postgresql"] = "unreachable"
        else:
            engine = make_engine(url)
            result["postgresql"] = run(engine, args.rows)
            engine.dispose()
    emit(result)


if __name__ == "__main__":
    main()
