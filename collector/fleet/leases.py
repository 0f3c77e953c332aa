"""Leases in the database: which live process polls which terminal, and runs which job.

A lease is a row (`leases`: key, owner, expiry). A process (a *node*) writes a heartbeat
row of its own (`fleet_nodes`) and, on the same beat, renews every lease it holds, tries
to take the singleton jobs its roles want, and lets the poller balance its terminals:

- a node holds at most ceil(terminals / live poller nodes); above that it lets the excess
  go (idle terminals only), below it takes free or expired ones;
- taking is one statement, `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at < now
  OR owner = me`: on PostgreSQL two nodes racing for one key serialise on the row, and the
  second finds the first's fresh expiry and takes nothing; SQLite runs one writer at a time;
- expiries are reckoned by the database's clock (PostgreSQL `now()`), so hosts need not
  agree on the time; and a node uses a lease only while its own last successful renewal is
  younger than the lease (monotonic clock), so a process paused past its lease (SIGSTOP, a
  long GC, a lost network) stops polling before another could have taken over.

Why rows rather than session advisory locks: a row is visible (the devices report shows
who polls what), survives transaction-mode connection poolers (a session lock is tied to
one server connection, which a pooler hands to others), needs no connection held per
terminal or per process, and works unchanged on SQLite, where the one process owns all.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from collector.fleet.roles import Role
from collector.store.models import FleetNode, Lease

log = logging.getLogger(__name__)

TERMINAL = "terminal:"
JOB_DAYS_CLOSE = "job:days-close"
JOB_RETENTION = "job:retention"
# Singleton jobs and the role that wants each.
JOBS: dict[str, Role] = {JOB_DAYS_CLOSE: Role.DAYS, JOB_RETENTION: Role.RETENTION}
# A lease is used only until this share of its time has passed since the renewal began.
SAFETY = 0.8

# Called on each beat inside its transaction, with the database time (the poller's balance).
BeatHook = Callable[[Connection, datetime], None]


def terminal_key(code: str) -> str:
    """The lease key of a polled terminal."""
    return f"{TERMINAL}{code}"


def default_node_id() -> str:
    """Host name and process id: unique among running processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def db_now(conn: Connection) -> datetime:
    """The database's clock on PostgreSQL (one clock for every host), ours on SQLite."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def _upsert(conn: Connection) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.Insert if conn.dialect.name == "postgresql" else sqlite.Insert


def take(conn: Connection, key: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Take or renew one lease: True when `owner` holds it until `until` afterwards."""
    insert = _upsert(conn)(Lease).values(key=key, owner=owner, acquired_at=now, expires_at=until)
    stmt = insert.on_conflict_do_update(
        index_elements=[Lease.key],
        set_={"owner": owner, "expires_at": until, "acquired_at": now},
        where=or_(Lease.expires_at < now, Lease.owner == owner),
    )
    # RETURNING, not rowcount: psycopg reports -1 for an upsert that changed nothing.
    return conn.execute(stmt.returning(Lease.key)).first() is not None


def release(conn: Connection, owner: str, keys: Iterable[str]) -> None:
    """Give up leases `owner` holds (others' rows are left alone)."""
    wanted = list(keys)
    if wanted:
        conn.execute(delete(Lease).where(Lease.owner == owner, Lease.key.in_(wanted)))


def held_keys(conn: Connection, owner: str, prefix: str) -> set[str]:
    """The keys under `prefix` that `owner` holds (its unexpired rows)."""
    rows = conn.scalars(select(Lease.key).where(Lease.owner == owner, Lease.key.like(f"{prefix}%")))
    return set(rows)


def taken_keys(conn: Connection, prefix: str, *, now: datetime) -> set[str]:
    """Keys under `prefix` anyone holds right now."""
    rows = conn.scalars(
        select(Lease.key).where(Lease.key.like(f"{prefix}%"), Lease.expires_at >= now)
    )
    return set(rows)


def live_nodes(conn: Connection, *, now: datetime, ttl: timedelta, role: Role) -> int:
    """How many nodes with `role` sent a heartbeat within `ttl`."""
    count = conn.execute(
        select(func.count())
        .select_from(FleetNode)
        .where(FleetNode.heartbeat_at >= now - ttl, FleetNode.roles.like(f"%{role.value}%"))
    ).scalar_one()
    return int(count)


def owners(conn: Connection, prefix: str, *, now: datetime) -> dict[str, str]:
    """Key (without `prefix`) → owning node, for unexpired leases under `prefix`."""
    rows = conn.execute(
        select(Lease.key, Lease.owner).where(Lease.key.like(f"{prefix}%"), Lease.expires_at >= now)
    )
    return {key[len(prefix) :]: owner for key, owner in rows}


def quota(total: int, nodes: int) -> int:
    """The most terminals one node holds: an even share, rounded up."""
    return math.ceil(total / max(nodes, 1)) if total else 0


def balance(
    conn: Connection,
    owner: str,
    codes: Collection[str],
    *,
    now: datetime,
    until: datetime,
    nodes: int,
    busy: Collection[str] = (),
    release_first: Collection[str] = (),
    order: Callable[[list[str]], list[str]] = sorted,
) -> set[str]:
    """Hold this node's share of the terminals `codes`; returns the codes it holds after.

    Leases of codes no longer polled are given up; above the share, idle terminals are
    given up (`release_first` before the others; a busy one stays until its poll ends);
    below it, free or expired ones taken.
    """
    wanted = {terminal_key(c): c for c in codes}
    mine = held_keys(conn, owner, TERMINAL)
    release(conn, owner, mine - wanted.keys())
    mine &= wanted.keys()
    share = quota(len(wanted), nodes)
    if len(mine) > share:
        first = {terminal_key(c) for c in release_first}
        idle = sorted((k for k in mine if wanted[k] not in busy), key=lambda k: (k not in first, k))
        extra = idle[: len(mine) - share]
        release(conn, owner, extra)
        mine -= set(extra)
    elif len(mine) < share:
        taken = taken_keys(conn, TERMINAL, now=now)
        free = order([k for k in wanted if k not in taken])
        while free and len(mine) < share:
            # `order` picks which to take; they are taken in key order, so two nodes taking
            # at once lock rows in one order and wait for each other instead of deadlocking.
            picked, free = free[: share - len(mine)], free[share - len(mine) :]
            for key in sorted(picked):
                if take(conn, key, owner, now=now, until=until):
                    mine.add(key)
    return {wanted[k] for k in mine}


class FleetMember:
    """This process among the others: heartbeat, lease renewal, singleton jobs (a Worker).

    It is the first worker started and the last stopped; on a clean stop it gives up its
    leases and its node row, so the others take over at once instead of after the lease.
    """

    name = "fleet"

    def __init__(
        self,
        engine: Engine,
        *,
        node_id: str | None = None,
        roles: Collection[Role],
        lease_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.node_id = node_id or default_node_id()
        self.roles = frozenset(roles)
        self.lease = timedelta(seconds=lease_s)
        self.beat_s = lease_s / 3
        self.jobs = [key for key, role in JOBS.items() if role in self.roles]
        self.hooks: list[BeatHook] = []
        self.beats = 0
        self._held: set[str] = set()
        self._valid_until = float("-inf")  # monotonic: leases usable until then
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = datetime.now(UTC)
        self._failing = False

    def holds(self, key: str) -> bool:
        """This node holds `key` and its last renewal is recent enough to use it."""
        with self._lock:
            return key in self._held and time.monotonic() < self._valid_until

    @property
    def valid(self) -> bool:
        """The last renewal is recent enough for held leases to be used."""
        return time.monotonic() < self._valid_until

    def beat(self) -> None:
        """One heartbeat: node row, renew held leases, take wanted jobs, run the hooks."""
        began = time.monotonic()
        with self.engine.begin() as conn:
            now = db_now(conn)
            until = now + self.lease
            self._heartbeat(conn, now)
            conn.execute(update(Lease).where(Lease.owner == self.node_id).values(expires_at=until))
            for job in self.jobs:
                take(conn, job, self.node_id, now=now, until=until)
            for hook in self.hooks:
                hook(conn, now)
            held = set(conn.scalars(select(Lease.key).where(Lease.owner == self.node_id)))
        with self._lock:
            self._held = held
            self._valid_until = began + self.lease.total_seconds() * SAFETY
        self.beats += 1

    def _heartbeat(self, conn: Connection, now: datetime) -> None:
        roles = ",".join(sorted(r.value for r in self.roles))
        insert = _upsert(conn)(FleetNode).values(
            node_id=self.node_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            roles=roles,
            started_at=self._started,
            heartbeat_at=now,
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[FleetNode.node_id], set_={"heartbeat_at": now, "roles": roles}
            )
        )
        # Rows of nodes silent for ten leases are history: keep the table small.
        conn.execute(delete(FleetNode).where(FleetNode.heartbeat_at < now - 10 * self.lease))

    def start(self) -> None:
        """Beat once (so the workers start with their leases) and then in the background."""
        try:
            self.beat()
        except Exception:  # the store is away: the loop keeps trying
            log.exception("first fleet heartbeat of %s failed", self.node_id)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fleet-beat", daemon=True)
        self._thread.start()
        log.info("fleet node %s (%s)", self.node_id, ",".join(sorted(self.roles)))

    def _run(self) -> None:
        while not self._stop.wait(self.beat_s):
            try:
                self.beat()
                if self._failing:
                    log.info("fleet heartbeat of %s recovered", self.node_id)
                    self._failing = False
            except Exception:  # log once per outage; leases lapse on their own meanwhile
                if not self._failing:
                    log.exception("fleet heartbeat of %s failed", self.node_id)
                self._failing = True

    def stop(self) -> None:
        """Stop beating and give up every lease and the node row."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            self._held, self._valid_until = set(), float("-inf")
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(Lease).where(Lease.owner == self.node_id))
                conn.execute(delete(FleetNode).where(FleetNode.node_id == self.node_id))
        except Exception:  # the leases lapse on their own
            log.exception("giving up the leases of %s failed", self.node_id)
