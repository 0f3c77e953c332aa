"""The poller with a fleet member: one owner on SQLite, a share each with two in one database."""

from __future__ import annotations

import itertools
import time

from collector.fleet import FleetMember, Role
from collector.poller.worker import TerminalPollerWorker
from tests.collector.poller.conftest import distinct_punches, punch_count
from tests.mqtt_support import wait_for


def test_one_node_holds_and_polls_every_terminal(zk_store, add_terminal):
    terminals = {c: add_terminal(c, records=40) for c in ("a", "b", "c")}
    member = FleetMember(zk_store.engine, node_id="solo", roles={Role.POLLER}, lease_s=3)
    worker = TerminalPollerWorker(zk_store, member=member)
    member.start()
    worker.start()
    try:
        wait_for(
            lambda: all(
                punch_count(zk_store, c) == distinct_punches(t) for c, t in terminals.items()
            ),
            timeout=60,
        )
        assert worker.owned() == set(terminals)
    finally:
        worker.stop()
        member.stop()


def test_two_workers_split_the_terminals_and_one_takes_over_a_stopped_one(zk_store, add_terminal):
    codes = [f"t{i}" for i in range(4)]
    terminals = {c: add_terminal(c, records=20, options={"interval_s": 0.3}) for c in codes}
    members = [
        FleetMember(zk_store.engine, node_id=n, roles={Role.POLLER}, lease_s=3) for n in "xy"
    ]
    workers = [TerminalPollerWorker(zk_store, member=m) for m in members]
    for m in members:
        m.beat()  # both nodes are live before either balances
    for m, w in zip(members, workers, strict=True):
        m.start()
        w.start()
    try:
        wait_for(lambda: [len(w.owned()) for w in workers] == [2, 2], timeout=30)
        assert workers[0].owned().isdisjoint(workers[1].owned())
        wait_for(
            lambda: all(
                punch_count(zk_store, c) == distinct_punches(t) for c, t in terminals.items()
            ),
            timeout=60,
        )
        # A clean stop gives the leases up: the other node takes all four at its next beat.
        workers[1].stop()
        members[1].stop()
        wait_for(lambda: workers[0].owned() == set(codes), timeout=15)
        # Usable once the beat that took them has committed.
        wait_for(lambda: all(workers[0].may_poll(c) for c in codes), timeout=5)
    finally:
        workers[0].stop()
        members[0].stop()


def test_live_sessions_are_handed_over_to_a_node_that_joins(zk_store, add_terminal):
    codes = [f"l{i}" for i in range(4)]
    terminals = {c: add_terminal(c, records=10, options={"live": True}) for c in codes}
    first = FleetMember(zk_store.engine, node_id="x", roles={Role.POLLER}, lease_s=3)
    one = TerminalPollerWorker(zk_store, member=first)
    first.start()
    one.start()
    second = FleetMember(zk_store.engine, node_id="y", roles={Role.POLLER}, lease_s=3)
    two = TerminalPollerWorker(zk_store, member=second)
    try:
        # Alone, the first node holds a live session with every terminal.
        wait_for(lambda: len(one.owned()) == 4, timeout=30)
        second.start()
        two.start()
        # The second node joins: two sessions end on the first, start on the second.
        wait_for(lambda: [len(one.owned()), len(two.owned())] == [2, 2], timeout=60)
        assert one.owned().isdisjoint(two.owned())
        for i, code in enumerate(codes):  # one person per terminal: one second, one punch
            terminals[code].punch(str(1001 + i))
        wait_for(
            lambda: all(
                punch_count(zk_store, c) == distinct_punches(t) for c, t in terminals.items()
            ),
            timeout=60,
        )
        # No terminal ever had two sessions open at once (one worker holds one at a time,
        # so an overlap would be the two workers), the hand-over included.
        for t in terminals.values():
            spans = sorted((c.opened, c.closed or time.time()) for c in t.connections)
            assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    finally:
        for worker, member in ((two, second), (one, first)):
            worker.stop()
            member.stop()
