"""One lane per target in the delivery worker, so a slow or dead endpoint holds only its own.

Each target may have at most `per_target` sends running (half the pool), so another target
always finds free senders; and it is claimed for only up to its allowance of messages
(a batch, or `per_target` once its sends time out or go unanswered), so a dead endpoint's
messages stay in the database for whoever can send them rather than wait here. A message
that waited here longer than most of its lease is dropped unsent: another process may
hold it by now, and it comes back to this one when the lease ends if not.
"""

from __future__ import annotations

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
        self.waiting: dict[int, deque[tuple[Claimed, float]]] = defaultdict(deque)
        self.running: Counter[int] = Counter()
        self.slow: set[int] = set()

    def full(self) -> list[int]:
        """Targets not to claim for now: their allowance is waiting or running."""
        out = []
        for target in set(self.waiting) | set(self.running):
            allowance = self.per_target if target in self.slow else self.batch
            if len(self.waiting[target]) + self.running[target] >= allowance:
                out.append(target)
        return sorted(out)

    def add(self, claimed: list[Claimed], now: float) -> None:
        """Messages just claimed (at monotonic time `now`)."""
        for msg in claimed:
            self.waiting[msg.target_id].append((msg, now))

    def take(self, now: float) -> list[Claimed]:
        """Messages to send now: round the targets, each up to its running limit."""
        out: list[Claimed] = []
        for target, lane in self.waiting.items():
            while lane and self.running[target] < self.per_target:
                msg, claimed_at = lane.popleft()
                if now - claimed_at > self.lease_s * LEASE_USE:
                    continue  # its lease is nearly over: leave it to the next claim
                self.running[target] += 1
                out.append(msg)
        return out

    def finished(self, attempt: Attempt) -> None:
        """A send came back: free its place, note whether its target answers in time."""
        target = attempt.message.target_id
        self.running[target] -= 1
        unanswered = attempt.outcome is Outcome.RETRY and attempt.code is None
        if unanswered or attempt.duration_ms > SLOW_MS:
            self.slow.add(target)
        else:
            self.slow.discard(target)

    @property
    def sending(self) -> int:
        """Sends running."""
        return sum(self.running.values())

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing running."""
        return not self.sending and not any(self.waiting.values())
