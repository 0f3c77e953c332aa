"""Engines and sessions, configured the same way for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:  # an in-memory database has one connection per thread, not a sized pool
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# Pages of a new SQLite store: its B-trees are a third as deep as at the 4 KiB default, and
# an ingest of 1,000,000 punches runs about a third faster (docs/store.md). SQLite fixes the
# size when the file is created; `punchgate db compact` rewrites an older store.
SQLITE_PAGE_SIZE = 32768


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # no effect once the file has tables
    # WAL lets readers (the API) run while the collector writes; NORMAL is durable in WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache: bulk ingests update six indexes in random key order, and the
    # 2 MiB default makes SQLite re-read index pages from the OS for every few rows.
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


class StoreInUse(Exception):
    """The store needs to be alone for this, and another process has it open."""


def compact_sqlite(engine: Engine) -> tuple[int, int]:
    """Rewrite a SQLite store at the page size new stores get: (page size before, after).

    Needs the store to itself (nothing else connected) and free disk for a second copy."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        before = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        if before != SQLITE_PAGE_SIZE:
            # A WAL database keeps its page size through VACUUM: leave WAL for the rewrite.
            mode = conn.exec_driver_sql("PRAGMA journal_mode=DELETE").scalar_one()
            if str(mode).lower() != "delete":  # SQLite keeps WAL while others are connected
                raise StoreInUse("another connection has the store open")
            try:
                conn.exec_driver_sql(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
                conn.exec_driver_sql("VACUUM")
            finally:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        after = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
    return int(before), int(after)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


# The advisory lock key serialising migrations ("pgmigrat" as a number).
MIGRATION_LOCK = 0x70676D6967726174


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic owns the transaction, so a migration may commit in steps (autocommit_block).
    with engine.connect() as conn:
        locked = conn.dialect.name == "postgresql"
        if locked:
            # Several collectors starting together migrate one at a time: the others wait
            # here, then find the schema at head. A session lock, since migrations commit in
            # steps; taken by short tries, since a waiter blocked inside a transaction would
            # deadlock with the CREATE INDEX CONCURRENTLY of the migration it waits for.
            try_lock = text("SELECT pg_try_advisory_lock(:key)")
            while not conn.execute(try_lock, {"key": MIGRATION_LOCK}).scalar():
                conn.commit()
                time.sleep(0.2)
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if locked:
                try:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    conn.commit()
                except Exception:  # a broken connection must not go back to the pool locked
                    conn.invalidate()
                    raise
