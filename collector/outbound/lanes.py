"""One lane per target in the delivery worker, so a slow or dead endpoint holds only its own.

Sender threads take messages from the lanes themselves (no round trip through the claiming
loop, so none waits idle while the loop claims or records). Each target may have at most
`per_target` sends running (half the senders), so another target always finds free ones;
and it is claimed for only up to its allowance of messages (a batch, or `per_target` once
its sends time out or go unanswered), so a dead endpoint's messages stay in the database
for whoever can send them rather than wait here. A message that waited here longer than
most of its lease is dropped unsent: another process may hold it by now, and it comes back
to this one when the lease ends if not.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque

from collector.outbound.delivery import Attempt, Claimed, Outcome

SLOW_MS = 5000  # a send slower than this marks its target as slow, like no answer at all
LEASE_USE = 0.8  # of the lease a message may wait here before it is dropped unsent


class Lanes:
    """Claimed messages waiting per target, sends running per target, slow targets."""

    def __init__(self, *, per_target: int, batch: int, lease_s: float) -> None:
        self.per_target = per_target
        self.batch = batch
        self.lease_s = lease_s
        self._waiting: dict[int, deque[tuple[Claimed, float]]] = defaultdict(deque)
        self._running: Counter[int] = Counter()
        self._slow: set[int] = set()
        self._changed = threading.Condition()

    def full(self) -> list[int]:
        """Targets not to claim for now: more than half their allowance is here.

        Claiming again only once half is gone makes claims large and few (each is a
        transaction) instead of one per handful of sends."""
        with self._changed:
            out = []
            for target in set(self._waiting) | set(self._running):
                allowance = self.per_target if target in self._slow else self.batch
                if len(self._waiting[target]) + self._running[target] > allowance // 2:
                    out.append(target)
            return sorted(out)

    def add(self, claimed: list[Claimed]) -> None:
        """Messages just claimed."""
        if not claimed:
            return
        now = time.monotonic()
        with self._changed:
            for msg in claimed:
                self._waiting[msg.target_id].append((msg, now))
            self._changed.notify_all()

    def next(self, timeout: float) -> Claimed | None:
        """A message to send, from a target below its running limit; None after `timeout`."""
        with self._changed:
            deadline = time.monotonic() + timeout
            while True:
                now = time.monotonic()
                for target, lane in self._waiting.items():
                    while lane and self._running[target] < self.per_target:
                        msg, claimed_at = lane.popleft()
                        if now - claimed_at > self.lease_s * LEASE_USE:
                            continue  # its lease is nearly over: leave it to the next claim
                        self._running[target] += 1
                        return msg
                if now >= deadline:
                    return None
                self._changed.wait(deadline - now)

    def finished(self, attempt: Attempt) -> None:
        """A send came back: free its place, note whether its target answers in time."""
        target = attempt.message.target_id
        with self._changed:
            self._running[target] -= 1
            unanswered = attempt.outcome is Outcome.RETRY and attempt.code is None
            if unanswered or attempt.duration_ms > SLOW_MS:
                self._slow.add(target)
            else:
                self._slow.discard(target)
            self._changed.notify_all()

    @property
    def sending(self) -> int:
        """Sends running."""
        with self._changed:
            return sum(self._running.values())
