"""The poller worker: a bounded thread pool polling every terminal on its own schedule."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

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


class TerminalPollerWorker:
    """A `TerminalPoller` per enabled ZK, Hikvision, Dahua or BioTime device; live ones a thread."""

    name = "zk-poller"

    def __init__(self, store: Store, *, codes: list[str] | None = None, seed: int | None = None):
        self.store = store
        self.codes = codes
        self.rng = random.Random(seed)
        self.pollers: dict[str, TerminalPoller] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=store.settings.zk_workers, thread_name_prefix="zk-poll"
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, Future[SyncOutcome | None]] = {}

    def reload(self) -> None:
        """Pick up terminals added, changed or removed in the store."""
        engine, box = self.store.engine, self.store.box
        found: dict[str, Terminal | HikDevice | DahuaDevice | BioTimeDevice] = {
            t.code: t for t in load_terminals(engine, self.codes, box=box)
        }
        found.update((t.code, t) for t in load_hik_devices(engine, self.codes, box=box))
        found.update((t.code, t) for t in load_dahua_devices(engine, self.codes, box=box))
        found.update((t.code, t) for t in load_biotime_devices(engine, self.codes, box=box))
        for code in list(self.pollers):
            if code not in found and not self.pollers[code].terminal.live:
                del self.pollers[code]
        for code, terminal in found.items():
            current = self.pollers.get(code)
            if current is not None and current.terminal == terminal:
                continue
            if current is not None and current.terminal.live:
                continue  # a live session keeps its settings until restart
            poller = TerminalPoller(self.store, terminal, rng=random.Random(self.rng.random()))
            self.pollers[code] = poller
            if terminal.live and not self._stop.is_set() and self._threads:
                self._start_live(poller)

    def poll_all(self) -> list[SyncOutcome | None]:
        """One poll of every polled (not live) terminal, concurrently; returns when all are done."""
        if not self.pollers:
            self.reload()
        targets = [p for p in self.pollers.values() if not p.terminal.live]
        futures = [self._pool.submit(p.poll) for p in targets]
        wait(futures)
        return [f.result() for f in futures]

    def start(self) -> None:
        """Start scheduling in the background."""
        self.reload()
        scheduler = threading.Thread(target=self._schedule, name="zk-scheduler", daemon=True)
        self._threads.append(scheduler)
        for poller in self.pollers.values():
            if poller.terminal.live:
                self._start_live(poller)
        scheduler.start()

    def _start_live(self, poller: TerminalPoller) -> None:
        thread = threading.Thread(
            target=poller.run_live,
            args=(self._stop,),
            name=f"zk-live-{poller.terminal.code}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

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
            for code, poller in list(self.pollers.items()):
                if poller.terminal.live or poller.next_due > now:
                    continue
                running = self._running.get(code)
                if running is not None and not running.done():
                    continue
                self._running[code] = self._pool.submit(self._guarded, poller)
            self._stop.wait(TICK_S)

    @staticmethod
    def _guarded(poller: TerminalPoller) -> SyncOutcome | None:
        try:
            return poller.poll()
        except Exception:  # a bug in one poll must not silence the terminal forever
            log.exception("polling terminal %s failed", poller.terminal.code)
            poller.next_due = time.monotonic() + poller.backoff()
            return None

    def stop(self) -> None:
        """Stop scheduling, let running polls finish, stop live sessions."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._pool.shutdown(wait=True, cancel_futures=True)
