"""The poller with a fleet member: one owner on SQLite, a share each with two in one database."""

from __future__ import annotations

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
        for code in codes:
            assert workers[0].may_poll(code)
    finally:
        workers[0].stop()
        members[0].stop()
