"""Shared helpers for the benchmark scripts (plain scripts printing one JSON object).

Each benchmark's object carries `targets`: a list of {name, target, figure, met}, where
`met` is true or false, or null when the run was not at the target's size (or the backend
was unreachable). `bench/summary.py` turns those lists into one table.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORK = Path(os.environ.get("PUNCHGATE_BENCH_DIR", ROOT / ".bench"))
PG_URL = os.environ.get(
    "PUNCHGATE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/punchgate_bench"
)


@contextmanager
def timed(out: dict[str, Any], key: str) -> Iterator[None]:
    """Store the wall time of the block in out[key] (seconds)."""
    start = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - start, 3)


def target(
    name: str, goal: str, figure: float | None, met: bool | None, *, at_size: bool = True
) -> dict[str, Any]:
    """One target: what it asks, this run's figure, whether it is met (None: not judged)."""
    return {"name": name, "target": goal, "figure": figure, "met": met if at_size else None}


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's JSON result on one line (it must list its targets)."""
    if not isinstance(result.get("targets"), list):
        raise ValueError("a benchmark result lists its targets")
    print(json.dumps(result, default=str), flush=True)


def fresh_pg_database(url: str) -> str | None:
    """Drop and create the benchmark database; None when PostgreSQL is not reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    parsed = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except OperationalError:
        return None
    finally:
        admin.dispose()
    return parsed.render_as_string(hide_password=False)


def load_average() -> str:
    """The 1/5/15-minute load average, reported beside figures taken on a shared machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def seed_phone_company(url: str, people: int) -> None:
    """Migrate the store at `url` and give it one fenced site (HQ, Berlin) with `people`
    demo employees on it: what the phone benchmarks punch into."""
    from datetime import UTC, datetime

    from collector.config import PunchgateConfig, SiteConfig, apply_config
    from collector.demo.seed import demo_employees
    from collector.store.db import make_engine, make_sessionmaker, upgrade

    engine = make_engine(url)
    upgrade(engine)
    cfg = PunchgateConfig(
        sites=[
            SiteConfig(code="hq", name="HQ", timezone="Europe/Berlin", lat=52.52, lon=13.405,
                       radius_m=150, fence={"max_accuracy_m": 150})
        ],
        employees=[e.model_copy(update={"site": "hq", "department": None, "policy": None})
                   for e in demo_employees(people)],
    )  # fmt: skip
    with make_sessionmaker(engine).begin() as session:
        apply_config(session, cfg, now=datetime.now(UTC))
    engine.dispose()
