"""The poller worker: a bounded thread pool polling every terminal on its own schedule.

With a `FleetMember` (serve's poller role) it polls only the terminals whose lease this
process holds: the member's heartbeat balances the leases (collector.fleet.leases), and
a poll or live session starts only while the lease is held and freshly renewed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy import Connection

from collector.fleet.leases import FleetMember, balance, live_nodes, quota, terminal_key
from collector.fleet.roles import Role
from collector.poller.biotimedevices import BioTimeDevice, load_biotime_devices
from collector.poller.dahuadevices import DahuaDevice, load_dahua_devices
from collector.poller.device import TerminalPoller
from collector.poller.hikdevices import HikDevice, load_hik_devices
from collector.poller.sync import SyncOutcome
from collector.poller.terminals import Terminal, load_terminals
from collector.runtime import Store

log = logging.getLogger(__name__)
TICK_S = 0.2  # how often the scheduler looks for due terminals
RELOAD_S = 60.0  # how often the terminal list is re-read from the store
AnyTerminal = Terminal | HikDevice | DahuaDevice | BioTimeDevice


class _LiveStop:
    """Ends one live session: the worker stops, the lease is lost or not freshly renewed."""

    def __init__(
        self, stop: threading.Event, allowed: threading.Event, fresh: Callable[[], bool]
    ) -> None:
        self._stop, self.allowed, self.fresh = stop, allowed, fresh

    def is_set(self) -> bool:
        """The session must end now."""
        return self._stop.is_set() or not self.allowed.is_set() or not self.fresh()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` (cut short by the worker stopping); True if ended."""
        self._stop.wait(timeout)
        return self.is_set()


class TerminalPollerWorker:
    """A `TerminalPoller` per enabled ZK, Hikvision, Dahua or BioTime device; live ones a thread."""

    name = "zk-poller"

    def __init__(
        self,
        store: Store,
        *,
        codes: list[str] | None = None,
        seed: int | None = None,
        member: FleetMember | None = None,
    ):
        self.store = store
        self.codes = codes
        self.rng = random.Random(seed)
        self.member = member
        self.known: dict[
            str, Terminal | HikDevice | DahuaDevice | BioTimeDevice
        ] = {}  # every enabled terminal
        self.pollers: dict[str, TerminalPoller] = {}  # the ones this process polls
        self._owned: set[str] | None = None  # None: every known terminal (no fleet)
        # Held while a poll starts and while the heartbeat gives leases up: a terminal is
        # never given up between the check that it is idle and the start of its poll.
        self._owned_lock = threading.Lock()
        self._polling: set[str] = set()
        self._draining: set[str] = set()  # live terminals being handed to another node
        self._pool = ThreadPoolExecutor(
            max_workers=store.settings.zk_workers, thread_name_prefix="zk-poll"
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._live: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._running: dict[str, Future[SyncOutcome | None]] = {}
        if member is not None:
            self._owned = set()
            member.hooks.append(self._balance)

    # -- which terminals this process polls ------------------------------------------------

    def _balance(self, conn: Connection, now: datetime) -> None:
        """The fleet heartbeat's hook: hold this node's share of the known terminals."""
        assert self.member is not None
        member = self.member
        nodes = live_nodes(conn, now=now, ttl=member.lease, role=Role.POLLER)
        with self._owned_lock:
            # A live session is busy while it runs. One over this node's share is drained
            # first: dropped from the owned set here (its session ends at its next window),
            # its lease given up on a later beat, once the session has ended.
            live = {code for code in list(self._live) if self._live_running(code)}
            owned = balance(
                conn,
                member.node_id,
                list(self.known),
                now=now,
                until=now + member.lease,
                nodes=nodes,
                busy=self._polling | live,
                release_first=self._draining,
                order=self._shuffled,
            )
            self._draining &= owned
            excess = len(owned) - quota(len(self.known), nodes)
            if excess > 0:
                self._draining |= set(sorted((owned & live) - self._draining)[:excess])
            self._owned = owned - self._draining

    def _shuffled(self, keys: list[str]) -> list[str]:
        # Nodes filling up at once would all race for the same first keys.
        out = list(keys)
        self.rng.shuffle(out)
        return out

    def may_poll(self, code: str) -> bool:
        """This process may connect to `code` now (always without a fleet)."""
        if self.member is None:
            return True
        # Both: the balance keeps it (given up ones leave at once) and the committed
        # lease is freshly renewed (taken ones count only once committed).
        return code in (self._owned or ()) and self.member.holds(terminal_key(code))

    def owned(self) -> set[str]:
        """Codes this process should poll (its leases, or every known terminal)."""
        with self._owned_lock:
            return set(self.known) if self._owned is None else self._owned & set(self.known)

    def reload(self) -> None:
        """Pick up terminals added, changed or removed in the store."""
        engine, box = self.store.engine, self.store.box
        found: dict[str, AnyTerminal] = {
            t.code: t for t in load_terminals(engine, self.codes, box=box)
        }
        found.update((t.code, t) for t in load_hik_devices(engine, self.codes, box=box))
        found.update((t.code, t) for t in load_dahua_devices(engine, self.codes, box=box))
        found.update((t.code, t) for t in load_biotime_devices(engine, self.codes, box=box))
        self.known = found
        self._sync_pollers()

    def _sync_pollers(self) -> None:
        """Make the pollers match the owned terminals (a lost one's live session ends)."""
        owned = self.owned()
        for code in list(self.pollers):
            if code not in owned:
                del self.pollers[code]
                live = self._live.pop(code, None)
                if live is not None:
                    live[1].clear()  # the session ends at its next window
        for code in owned:
            terminal = self.known[code]
            current = self.pollers.get(code)
            if current is not None and current.terminal == terminal:
                if terminal.live and self._threads and not self._live_running(code):
                    self._start_live(current)
                continue
            if current is not None and current.terminal.live and self._live_running(code):
                continue  # a live session keeps its settings until restart
            poller = TerminalPoller(self.store, terminal, rng=random.Random(self.rng.random()))
            self.pollers[code] = poller
            if terminal.live and not self._stop.is_set() and self._threads:
                self._start_live(poller)

    def _live_running(self, code: str) -> bool:
        live = self._live.get(code)
        return live is not None and live[0].is_alive()

    def poll_all(self) -> list[SyncOutcome | None]:
        """One poll of every polled (not live) terminal, concurrently; returns when all are done."""
        if not self.pollers:
            self.reload()
        targets = [
            p
            for p in self.pollers.values()
            if not p.terminal.live and self.may_poll(p.terminal.code)
        ]
        futures = [self._pool.submit(p.poll) for p in targets]
        wait(futures)
        return [f.result() for f in futures]

    def start(self) -> None:
        """Start scheduling in the background."""
        scheduler = threading.Thread(target=self._schedule, name="zk-scheduler", daemon=True)
        self._threads.append(scheduler)
        self.reload()
        if self.member is not None:
            self._balance_now()
        self._sync_pollers()
        scheduler.start()

    def _balance_now(self) -> None:
        # Take this node's share at start instead of waiting for the next heartbeat.
        assert self.member is not None
        try:
            self.member.beat()
        except Exception:
            log.exception("taking terminal leases failed; the heartbeat retries")

    def _start_live(self, poller: TerminalPoller) -> None:
        code = poller.terminal.code
        allowed = threading.Event()
        allowed.set()
        thread = threading.Thread(
            target=self._run_live,
            args=(poller, _LiveStop(self._stop, allowed, lambda: self.may_poll(code))),
            name=f"zk-live-{code}",
            daemon=True,
        )
        self._live[code] = (thread, allowed)
        self._threads.append(thread)
        thread.start()

    def _run_live(self, poller: TerminalPoller, stop: _LiveStop) -> None:
        while not self._stop.is_set() and stop.allowed.is_set():
            if stop.fresh():
                poller.run_live(stop)
            else:  # not renewed lately (a stalled heartbeat): wait for it, or for the loss
                self._stop.wait(TICK_S)

    def _schedule(self) -> None:
        reloaded = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - reloaded > RELOAD_S:
                try:
                    self.reload()
                except Exception:  # a store hiccup must not stop the scheduler
                    log.exception("reloading terminals failed")
                reloaded = now
            if self.member is not None:
                self._sync_pollers()
            for code, poller in list(self.pollers.items()):
                if poller.terminal.live or poller.next_due > now or not self.may_poll(code):
                    continue
                running = self._running.get(code)
                if running is not None and not running.done():
                    continue
                self._running[code] = self._pool.submit(self._guarded, poller)
            self._stop.wait(TICK_S)

    def _guarded(self, poller: TerminalPoller) -> SyncOutcome | None:
        code = poller.terminal.code
        with self._owned_lock:
            if not self.may_poll(code):
                return None  # the lease lapsed or was given up while the poll waited
            self._polling.add(code)
        try:
            return poller.poll()
        except Exception:  # a bug in one poll must not silence the terminal forever
            log.exception("polling terminal %s failed", code)
            poller.next_due = time.monotonic() + poller.backoff()
            return None
        finally:
            with self._owned_lock:
                self._polling.discard(code)

    def stop(self) -> None:
        """Stop scheduling, let running polls finish, stop live sessions."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._pool.shutdown(wait=True, cancel_futures=True)
