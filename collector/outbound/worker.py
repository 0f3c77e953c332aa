"""The delivery worker: claims due outbox messages, sends them concurrently, records outcomes.

Sender threads take claimed messages from one lane per target (collector.outbound.lanes),
so a slow or dead endpoint holds at most half the senders until their timeout, never the
claiming loop, never another endpoint, and never ingest (which only writes rows). The
loop claims in large batches and records outcomes in batches as they come back.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from collector.outbound.delivery import Attempt, Claimed, Outcome, claim, record
from collector.outbound.erpnext_shifts import ShiftSync
from collector.outbound.http import HttpClient
from collector.outbound.lanes import Lanes
from collector.outbound.targets import TargetInfo, load_targets
from collector.outbound.webhook import WebhookSender
from collector.runtime import Store, utcnow

log = logging.getLogger(__name__)
TARGETS_REFRESH_S = 5.0  # a new or changed target is picked up within this time
RECORD_WAIT_S = 0.1  # outcomes are recorded at most this long after they come back
SHIFT_SYNC_S = 60.0  # how often ERPNext Shift Types' last sync marks are looked at


class Sender(Protocol):
    """Delivers one claimed message to one kind of target."""

    kind: str

    def send(self, target: TargetInfo, msg: Claimed) -> Attempt:
        """One attempt; outcomes, never exceptions, for what the target does."""


def http_client(store: Store) -> HttpClient:
    """The HTTP client every sender of a worker shares (redirects are not followed)."""
    return HttpClient(timeout=store.settings.outbox_timeout_s)


def default_senders(client: HttpClient) -> list[Sender]:
    """The senders of every target kind punchgate knows."""
    from collector.outbound.erpnext import ErpNextSender
    from collector.outbound.odoo import OdooSender

    return [WebhookSender(client), ErpNextSender(client), OdooSender(client)]


class OutboxWorker:
    """Runs outbox delivery in a background thread of the service."""

    name = "outbox"

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        senders: list[Sender] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = store.settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._client: HttpClient | None = None
        self._senders = {s.kind: s for s in senders} if senders is not None else None
        self._targets: dict[int, TargetInfo] = {}
        self._targets_at = -TARGETS_REFRESH_S
        self._targets_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shift_sync: ShiftSync | None = None

    @property
    def senders(self) -> dict[str, Sender]:
        """Senders by target kind (built on first use, with this worker's HTTP client)."""
        if self._senders is None:
            self._senders = {s.kind: s for s in default_senders(self.client)}
        return self._senders

    @property
    def client(self) -> HttpClient:
        """The HTTP client this worker's senders and shift sync share (built on first use)."""
        if self._client is None:
            self._client = http_client(self.store)
        return self._client

    def start(self) -> None:
        """Start delivering in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming, let sends in flight finish and record them."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._client is not None:
            self._client.close()

    def run_once(self) -> int:
        """Claim one batch, send it, record it; how many were sent (tests, `outbox run`)."""
        claimed = claim(
            self.store.engine,
            now=self.clock(),
            limit=self.settings.outbox_batch,
            lease_s=self.settings.outbox_lease_s,
        )
        if not claimed:
            return 0
        with ThreadPoolExecutor(self.settings.outbox_concurrency) as pool:
            results = list(pool.map(self._send, claimed))
        self._record(results)
        return len(results)

    def sync_shift_types(self) -> int:
        """Move ERPNext Shift Types' last sync marks forward where they advanced; PUTs made."""
        if self._shift_sync is None:
            self._shift_sync = ShiftSync(self.client)
        targets = load_targets(self.store.engine, self.store.box, now=self.clock())
        return self._shift_sync.run(self.store.engine, targets.values())

    def _run(self) -> None:
        settings = self.settings
        lanes = Lanes(
            per_target=max(1, settings.outbox_concurrency // 2),
            batch=settings.outbox_batch,
            lease_s=settings.outbox_lease_s,
        )
        done: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        senders = [
            threading.Thread(target=self._sender, args=(lanes, done), name=f"outbox-{i}")
            for i in range(settings.outbox_concurrency)
        ]
        for thread in senders:
            thread.start()
        failures = 0
        next_claim = 0.0
        skipped: list[int] = []
        next_shift_sync = time.monotonic() + SHIFT_SYNC_S
        while not self._stop.is_set() or any(t.is_alive() for t in senders) or not done.empty():
            if not self._stop.is_set() and time.monotonic() >= next_shift_sync:
                next_shift_sync = time.monotonic() + SHIFT_SYNC_S
                try:
                    self.sync_shift_types()
                except Exception:  # the next round tries again; checkins are not held up
                    log.exception("updating ERPNext shift types failed")
            full = lanes.full()
            # Claim when the last claim may have left more, or a lane has room again.
            if not self._stop.is_set() and (time.monotonic() >= next_claim or full != skipped):
                skipped = full
                try:
                    claimed = claim(
                        self.store.engine,
                        now=self.clock(),
                        limit=settings.outbox_batch,
                        lease_s=settings.outbox_lease_s,
                        skip_targets=full,
                    )
                    failures = 0
                    lanes.add(claimed)
                    more = len(claimed) == settings.outbox_batch
                    next_claim = time.monotonic() + (0 if more else settings.outbox_poll_s)
                except Exception:  # the store being away must not end delivery
                    failures += 1
                    log.exception("claiming outbox messages failed")
                    self._stop.wait(min(30.0, 0.5 * 2**failures))
            results = _drain(done, 0.05, settings.outbox_batch)
            if results:
                try:
                    self._record(results)
                except Exception:  # unrecorded sends are claimed again after the lease
                    log.exception("recording %d outbox attempts failed", len(results))

    def _sender(self, lanes: Lanes, done: queue.SimpleQueue[Attempt]) -> None:
        """One sender thread: take, send, hand the outcome over, until stopped."""
        while not self._stop.is_set():
            msg = lanes.next(timeout=0.2)
            if msg is None:
                continue
            attempt = self._send(msg)
            lanes.finished(attempt)
            done.put(attempt)

    def _record(self, results: list[Attempt]) -> None:
        record(
            self.store.engine,
            results,
            now=self.clock(),
            window_s=self.settings.outbox_retry_window_s,
            rng=self.rng,
        )

    def _target(self, target_id: int) -> TargetInfo | None:
        if (
            target_id not in self._targets
            or time.monotonic() - self._targets_at > TARGETS_REFRESH_S
        ):
            with self._targets_lock:  # one reload, however many sender threads ask
                now = time.monotonic()
                if target_id not in self._targets or now - self._targets_at > TARGETS_REFRESH_S:
                    # A fresh dict replaces the old one whole: readers need no lock.
                    self._targets = load_targets(
                        self.store.engine, self.store.box, now=self.clock()
                    )
                    self._targets_at = now
        return self._targets.get(target_id)

    def _send(self, msg: Claimed) -> Attempt:
        try:
            target = self._target(msg.target_id)
            if target is None:  # disabled since the claim: it waits for re-enabling
                return Attempt(msg, Outcome.RETRY, None, "target disabled")
            sender = self.senders.get(target.kind)
            if sender is None:
                return Attempt(msg, Outcome.RETRY, None, f"no sender for {target.kind} targets")
            return sender.send(target, msg)
        except Exception as exc:  # a bug in one send must not lose the message
            log.exception("sending outbox message %s failed", msg.id)
            return Attempt(msg, Outcome.RETRY, None, f"{type(exc).__name__}: {exc}")


def _drain(done: queue.SimpleQueue[Attempt], wait: float, most: int) -> list[Attempt]:
    """What has come back: waits up to `wait` for the first, then up to RECORD_WAIT_S more
    for up to `most` (a few larger transactions cost less than many small ones)."""
    try:
        results = [done.get(timeout=wait)]
    except queue.Empty:
        return []
    until = time.monotonic() + RECORD_WAIT_S
    while len(results) < most:
        left = until - time.monotonic()
        if left <= 0:
            break
        try:
            results.append(done.get(timeout=left))
        except queue.Empty:
            break
    return results
