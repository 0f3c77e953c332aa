"""Dirty marks under concurrency: an ingest racing the days worker never loses its recompute.

PostgreSQL only: on SQLite writers take turns on one database lock, so an ingest cannot be
in flight while the worker claims and deletes its mark (the worker would wait for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select, text

from collector.days.context import Context
from collector.days.dirty import claim_dirty, process_dirty
from collector.days.recompute import recompute, void_targets
from collector.store.ingest import ingest
from collector.store.models import AttendanceDay, DirtyDay
from tests.collector.test_days import TUE, day_row, punches, setup_office
from tests.factories import raw_punch

WED = date(2026, 11, 25)
SETTLE_S = 30.0  # a step neither finishing nor waiting on a lock by then is a hang


@pytest.fixture
def pg_store(store: Any) -> Any:
    """The store, on PostgreSQL only."""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: an ingest cannot be in flight meanwhile")
    return store


def test_an_ingest_in_flight_while_the_worker_takes_its_mark_is_recomputed(pg_store, now):
    """The issue's interleaving: the mark exists, an ingest is open, a worker pass runs."""
    store = pg_store
    emp, _ = setup_office(store, now)
    process_dirty(store.engine, now=now)
    punches(store, now, (TUE, "08:00", 0))  # committed; Tuesday's mark waits for the worker
    with store.engine.connect() as conn, conn.begin():
        out = raw_punch("1001", datetime.combine(TUE, clock(16, 30)), state=1)
        assert ingest(conn, [out], now=now, policy=store.policy).inserted == 1
        process_dirty(store.engine, now=now)  # another connection, while ours is open
    process_dirty(store.engine, now=now)  # a later pass
    row = day_row(store, emp, TUE)
    assert (row.status, row.worked_s) == ("present", 8 * 3600)
    with store.sessions() as s:
        assert s.scalar(select(DirtyDay).limit(1)) is None


@dataclass
class Actor:
    """One transaction on its own connection and thread, advanced a step at a time."""

    name: str
    steps: list[Callable[[Connection], None]]
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    conn: Connection | None = None
    pid: int = 0
    running: Future[None] | None = None

    def open(self, engine: Engine) -> None:
        """Connect in the actor's thread, learn its server process id, begin the transaction."""
        self.conn = self.pool.submit(engine.connect).result()
        self.pid = self.pool.submit(self._begin).result()

    def _begin(self) -> int:
        assert self.conn is not None
        pid = self.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        self.conn.commit()
        self.conn.begin()  # the steps use the DB-API cursor: the commit step must be real
        return int(pid)

    def start_next(self) -> None:
        """Begin the actor's next step without waiting for it."""
        assert self.running is None and self.conn is not None
        self.running = self.pool.submit(self.steps.pop(0), self.conn)

    @property
    def in_transaction(self) -> bool:
        """Its commit has not returned yet."""
        return bool(self.steps) or self.running is not None

    def collect(self) -> None:
        """Take the running step's outcome once it has finished; its error fails the example."""
        if self.running is not None and self.running.done():
            running, self.running = self.running, None
            running.result()

    def close(self) -> None:
        """Roll back whatever is left open, close, and stop the thread."""
        if self.conn is not None:
            self.pool.submit(self.conn.close).result()
        self.pool.shutdown()


def quiesce(actors: dict[str, Actor], observer: Connection) -> None:
    """Wait until every actor is idle or waits on a lock of a transaction still open."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        for actor in actors.values():
            actor.collect()
        busy = [a for a in actors.values() if a.running is not None]
        open_pids = {a.pid for a in actors.values() if a.in_transaction}
        # pg_blocking_pids may still name a blocker whose commit has returned: no wait.
        if all(open_pids & set(blockers(observer, a.pid)) for a in busy):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{[a.name for a in busy]} neither finish nor wait on a lock")
        time.sleep(0.002)


def blockers(observer: Connection, pid: int) -> list[int]:
    """The server processes whose locks the given one waits for."""
    return list(observer.exec_driver_sql(f"SELECT pg_blocking_pids({pid})").scalar() or ())


def run(order: list[str], actors: dict[str, Actor], observer: Connection) -> None:
    """Run each actor's steps in `order`; an actor waiting on a lock has its steps deferred."""
    pending = list(order)
    while pending:
        free = [i for i, name in enumerate(pending) if actors[name].running is None]
        assert free, f"every actor waits on another: deadlock with {pending} to run"
        actors[pending.pop(free[0])].start_next()
        quiesce(actors, observer)


def ingest_steps(store: Any, now: datetime, day: date, hhmm: str) -> list[Any]:
    """An ingest of one out punch: store it (punch and mark), then commit."""
    out = raw_punch("1001", datetime.combine(day, clock.fromisoformat(hhmm)), state=1)
    return [
        lambda conn: ingest(conn, [out], now=now, policy=store.policy),
        lambda conn: conn.commit(),
    ]


def worker_steps(now: datetime) -> list[Any]:
    """One batch of `process_dirty`: claim, recompute, commit."""
    claimed: set[tuple[int, date]] = set()

    def claim(conn: Connection) -> None:
        claimed.update(claim_dirty(conn, 2000))

    def compute(conn: Connection) -> None:
        recompute(conn, claimed | void_targets(conn, claimed), now=now, ctx=Context())

    return [claim, compute, lambda conn: conn.commit()]


FIGURES = (
    AttendanceDay.status,
    AttendanceDay.worked_s,
    AttendanceDay.first_in,
    AttendanceDay.last_out,
)


def stored(engine: Engine, emp: int, day: date) -> tuple[Any, ...] | None:
    """The day's figures as stored."""
    with engine.connect() as conn:
        found = conn.execute(
            select(*FIGURES).where(
                AttendanceDay.employee_id == emp, AttendanceDay.local_date == day
            )
        ).first()
    return None if found is None else tuple(found)


def truth(engine: Engine, emp: int, day: date, now: datetime) -> tuple[Any, ...] | None:
    """The day's figures recomputed from every committed punch now (rolled back after)."""
    with engine.connect() as conn, conn.begin() as tx:
        recompute(conn, [(emp, day)], now=now, ctx=Context(), neighbours=False)
        found = conn.execute(
            select(*FIGURES).where(
                AttendanceDay.employee_id == emp, AttendanceDay.local_date == day
            )
        ).first()
        tx.rollback()
    return None if found is None else tuple(found)


def marked(engine: Engine, emp: int, day: date) -> bool:
    """A dirty mark for the day is committed."""
    with engine.connect() as conn:
        return (
            conn.execute(
                select(DirtyDay.local_date).where(
                    DirtyDay.employee_id == emp, DirtyDay.local_date == day
                )
            ).first()
            is not None
        )


@pytest.fixture
def observer(pg_store: Any) -> Iterator[Connection]:
    """A connection outside every actor's transaction, to see who waits on whom."""
    with pg_store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


STEPS = ["i1"] * 2 + ["i2"] * 2 + ["w1"] * 3 + ["w2"] * 3
ISSUE = ["i1", "w1", "w1", "w1", "i1", "i2", "i2", "w2", "w2", "w2"]  # ingest open over a pass
CLAIM_FIRST = ["w1", "i1", "i2", "w1", "w1", "i1", "i2", "w2", "w2", "w2"]  # ingests wait


def test_every_interleaving_of_ingests_and_workers_leaves_days_right(pg_store, now, observer):
    """Two ingests (one day each) and two workers, steps interleaved as hypothesis chooses."""
    store = pg_store
    engine = store.engine
    emp, _ = setup_office(store, now)
    process_dirty(engine, now=now)

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(order=st.permutations(STEPS), consumed=st.booleans())
    @example(order=ISSUE, consumed=False)
    @example(order=CLAIM_FIRST, consumed=False)
    @example(order=CLAIM_FIRST, consumed=True)
    def check(order: list[str], consumed: bool) -> None:
        with engine.begin() as conn:
            for table in ("punches", "attendance_days", "dirty_days"):
                conn.execute(text(f"DELETE FROM {table}"))
        punches(store, now, (TUE, "08:00", 0), (WED, "08:00", 0))
        if consumed:  # the morning punches' marks were already taken and recomputed
            process_dirty(engine, now=now)
        actors = {
            "i1": Actor("i1", ingest_steps(store, now, TUE, "16:30")),
            "i2": Actor("i2", ingest_steps(store, now, WED, "17:00")),
            "w1": Actor("w1", worker_steps(now)),
            "w2": Actor("w2", worker_steps(now)),
        }
        try:
            for actor in actors.values():
                actor.open(engine)
            run(order, actors, observer)
        finally:
            # Idle ones first: their rollback releases whoever still waits on them.
            for actor in sorted(actors.values(), key=lambda a: a.running is not None):
                actor.close()
        for day in (TUE, WED):
            # Everything committed: each day is right already or still marked for recompute.
            assert marked(engine, emp, day) or stored(engine, emp, day) == truth(
                engine, emp, day, now
            )
        process_dirty(engine, now=now)
        for day in (TUE, WED):
            assert stored(engine, emp, day) == truth(engine, emp, day, now)
            assert not marked(engine, emp, day)
        assert (stored(engine, emp, TUE) or ())[:2] == ("present", 8 * 3600)
        assert (stored(engine, emp, WED) or ())[:2] == ("present", int(8.5 * 3600))

    check()
