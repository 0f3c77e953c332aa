"""SQLite page size: new stores get 32 KiB pages, `punchgate db compact` rewrites old ones."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from collector.normalize import NormalizePolicy
from collector.store.db import SQLITE_PAGE_SIZE, make_engine, upgrade
from collector.store.ingest import ingest_batch
from collector.store.models import Punch
from tests.factories import raw_punch
from tests.helpers import run_cli

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def pragma(path: Path, name: str) -> object:
    """One PRAGMA's value, read by a connection of its own."""
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_new_store_is_made_with_32_kib_pages(tmp_path):
    path = tmp_path / "new.sqlite3"
    made = run_cli("db", "upgrade", env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{path}"})
    assert made.returncode == 0, made.stderr
    assert pragma(path, "page_size") == SQLITE_PAGE_SIZE == 32768
    assert pragma(path, "journal_mode") == "wal"


def test_compact_rewrites_an_old_store_and_keeps_every_punch(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # as stores were made before: SQLite's 4 KiB default
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    start = datetime(2026, 11, 2, 8, 0)
    batch = [raw_punch(str(1000 + i % 50), start + timedelta(minutes=i)) for i in range(3000)]
    assert ingest_batch(engine, batch, now=NOW, policy=NormalizePolicy()).inserted == 3000
    engine.dispose()
    assert pragma(path, "page_size") == 4096  # the pragma alone never changes an old file
    env = {"PUNCHGATE_DATABASE_URL": f"sqlite:///{path}"}

    holder = sqlite3.connect(path)  # a collector still running
    holder.execute("SELECT count(*) FROM punches").fetchone()
    try:
        busy = run_cli("db", "compact", env=env)
    finally:
        holder.close()
    assert busy.returncode == 1, busy.stderr
    assert "stop every punchgate process" in busy.stderr
    assert pragma(path, "page_size") == 4096

    done = run_cli("db", "compact", env=env)
    assert done.returncode == 0, done.stderr
    assert "4096-byte pages → 32768" in done.stderr
    assert pragma(path, "page_size") == 32768 and pragma(path, "journal_mode") == "wal"
    assert pragma(path, "integrity_check") == "ok"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Punch)) == 3000
    assert (
        ingest_batch(engine, batch, now=NOW, policy=NormalizePolicy()).duplicates == 3000
    )  # the keys still hold
    engine.dispose()

    again = run_cli("db", "compact", env=env)
    assert again.returncode == 0 and "already has 32768-byte pages" in again.stderr


def test_compact_refuses_a_missing_database(tmp_path):
    missing = tmp_path / "typo.sqlite3"
    out = run_cli("db", "compact", env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{missing}"})
    assert out.returncode == 2 and "does not exist" in out.stderr, out.stderr
    assert not missing.exists()
