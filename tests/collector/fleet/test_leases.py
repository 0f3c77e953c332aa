"""Lease rows: taking is race-free, expiry hands a terminal over, shares stay balanced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from collector.fleet.leases import (
    JOB_DAYS_CLOSE,
    JOB_RETENTION,
    TERMINAL,
    FleetMember,
    balance,
    owners,
    quota,
    take,
)
from collector.fleet.roles import ALL_ROLES, Role, RolesError, parse_roles
from collector.reports.devices import device_health
from collector.store.models import Device, FleetNode, Lease

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def test_parse_roles() -> None:
    assert parse_roles(None) == ALL_ROLES
    assert parse_roles("all") == ALL_ROLES
    assert parse_roles("api, poller") == {Role.API, Role.POLLER}
    with pytest.raises(RolesError, match="pollers"):
        parse_roles("api,pollers")


@pytest.mark.parametrize(("total", "nodes", "share"), [(0, 3, 0), (10, 3, 4), (9, 3, 3), (5, 0, 5)])
def test_quota(total: int, nodes: int, share: int) -> None:
    assert quota(total, nodes) == share


def test_take_renew_and_expiry(engine: Engine) -> None:
    with engine.begin() as conn:
        assert take(conn, "terminal:a", "n1", now=T0, until=T0 + LEASE)
        # Held and unexpired: another node gets nothing, the owner renews.
        assert not take(conn, "terminal:a", "n2", now=T0 + LEASE / 2, until=T0 + 2 * LEASE)
        assert take(conn, "terminal:a", "n1", now=T0 + LEASE / 2, until=T0 + 2 * LEASE)
        # Past its expiry anyone takes it.
        later = T0 + 2 * LEASE + timedelta(seconds=1)
        assert take(conn, "terminal:a", "n2", now=later, until=later + LEASE)
        assert owners(conn, TERMINAL, now=later) == {"a": "n2"}


def test_racing_takers_one_wins(engine: Engine) -> None:
    """Eight threads take one free key at once: exactly one holds it (row lock on PostgreSQL)."""
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def racer(name: str) -> None:
        barrier.wait()
        with engine.begin() as conn:
            if take(conn, "job:x", name, now=T0, until=T0 + LEASE):
                wins.append(name)

    threads = [threading.Thread(target=racer, args=(f"n{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(Lease.owner).where(Lease.key == "job:x")) == wins[0]


def test_balance_shares_then_rebalances_for_a_new_node(engine: Engine) -> None:
    codes = [f"t{i:02d}" for i in range(10)]
    until = T0 + LEASE
    with engine.begin() as conn:
        a = balance(conn, "a", codes, now=T0, until=until, nodes=2)
        b = balance(conn, "b", codes, now=T0, until=until, nodes=2)
    assert len(a) == len(b) == 5 and a | b == set(codes) and not a & b
    # A third node appears: the first two give up their excess (an idle one each), the
    # newcomer takes what was given up.
    with engine.begin() as conn:
        a2 = balance(conn, "a", codes, now=T0, until=until, nodes=3, busy=a)
        assert a2 == a  # every one of its terminals is busy: nothing is given up mid-poll
        a2 = balance(conn, "a", codes, now=T0, until=until, nodes=3)
        b2 = balance(conn, "b", codes, now=T0, until=until, nodes=3)
        c = balance(conn, "c", codes, now=T0, until=until, nodes=3)
    assert (len(a2), len(b2), len(c)) == (4, 4, 2)
    assert a2 | b2 | c == set(codes) and not (a2 & b2 or a2 & c or b2 & c)


def test_dead_nodes_terminals_taken_after_expiry(engine: Engine) -> None:
    codes = ["t1", "t2", "t3", "t4"]
    with engine.begin() as conn:
        balance(conn, "a", codes, now=T0, until=T0 + LEASE, nodes=2)
        balance(conn, "b", codes, now=T0, until=T0 + LEASE, nodes=2)
        # "b" dies. Before its leases expire, "a" (now alone) cannot take them …
        soon = T0 + LEASE / 2
        assert len(balance(conn, "a", codes, now=soon, until=soon + LEASE, nodes=1)) == 2
        # … after, it takes them all.
        late = T0 + LEASE + timedelta(seconds=1)
        assert balance(conn, "a", codes, now=late, until=late + LEASE, nodes=1) == set(codes)


def test_member_singletons_once_and_release_on_stop(engine: Engine) -> None:
    first = FleetMember(engine, node_id="n1", roles=ALL_ROLES, lease_s=30)
    second = FleetMember(engine, node_id="n2", roles=ALL_ROLES, lease_s=30)
    api_only = FleetMember(engine, node_id="n3", roles={Role.API}, lease_s=30)
    for member in (first, second, api_only):
        member.beat()
    assert first.holds(JOB_DAYS_CLOSE) and first.holds(JOB_RETENTION)
    assert not second.holds(JOB_DAYS_CLOSE) and not second.holds(JOB_RETENTION)
    assert not api_only.jobs
    with engine.connect() as conn:
        assert set(conn.scalars(select(FleetNode.node_id))) == {"n1", "n2", "n3"}
    first.stop()  # a clean stop gives the jobs up at once
    second.beat()
    assert second.holds(JOB_DAYS_CLOSE) and second.holds(JOB_RETENTION)
    assert not first.holds(JOB_DAYS_CLOSE)
    with engine.connect() as conn:
        assert "n1" not in set(conn.scalars(select(FleetNode.node_id)))


def test_member_stops_using_a_lease_it_could_not_renew(engine: Engine) -> None:
    member = FleetMember(engine, node_id="n1", roles={Role.DAYS}, lease_s=30)
    member.beat()
    assert member.holds(JOB_DAYS_CLOSE)
    member._valid_until -= 30  # as after a pause longer than the lease (SIGSTOP)
    assert not member.holds(JOB_DAYS_CLOSE)


def test_devices_report_names_the_poller(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Device),
            [
                {"code": "t1", "name": "Door", "kind": "zk", "enabled": True},
                {"code": "t2", "name": "Gate", "kind": "zk", "enabled": True},
            ],
        )
        take(conn, "terminal:t1", "host-a:12", now=T0, until=T0 + LEASE)
        take(conn, "terminal:t2", "host-b:7", now=T0 - 2 * LEASE, until=T0 - LEASE)  # expired
    with engine.connect() as conn:
        rows = {r["device_code"]: r for r in device_health(conn, now=T0).dicts()}
    assert rows["t1"]["polled_by"] == "host-a:12"
    assert rows["t1"]["lease_expires_at"] == T0 + LEASE
    assert rows["t2"]["polled_by"] is None


def test_balance_takes_its_pick_in_key_order(engine: Engine, monkeypatch) -> None:
    """Nodes pick terminals in their own (shuffled) order but lock them in key order: two
    nodes taking at once on PostgreSQL then wait for each other instead of deadlocking."""
    import collector.fleet.leases as leases

    calls: list[str] = []
    real = leases.take

    def recording(conn, key, owner, **kw):
        calls.append(key)
        return real(conn, key, owner, **kw)

    monkeypatch.setattr(leases, "take", recording)
    codes = [f"t{i:02d}" for i in range(12)]
    with engine.begin() as conn:
        held = balance(conn, "n1", codes, now=T0, until=T0 + LEASE, nodes=3,
                       order=lambda keys: list(reversed(keys)))  # fmt: skip
    assert held == {f"t{i:02d}" for i in range(8, 12)}  # the order's pick: the last four
    assert calls == sorted(calls) and len(calls) == 4


def test_concurrent_balances_in_opposite_orders_do_not_deadlock(engine: Engine) -> None:
    """Two nodes taking 300 free terminals at once, one picking them forwards, the other
    backwards; every lease ends with one owner and neither transaction fails."""
    codes = [f"t{i:03d}" for i in range(300)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)
    got: dict[str, set[str]] = {}

    def node(name: str, backwards: bool) -> None:
        try:
            with engine.begin() as conn:
                barrier.wait()
                got[name] = balance(
                    conn, name, codes, now=T0, until=T0 + LEASE, nodes=1,
                    order=(lambda k: list(reversed(k))) if backwards else sorted,
                )  # fmt: skip
        except BaseException as exc:  # a deadlock aborts one of them
            errors.append(exc)

    threads = [threading.Thread(target=node, args=(n, b)) for n, b in [("n1", False), ("n2", True)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with engine.connect() as conn:
        final = owners(conn, TERMINAL, now=T0)
    assert len(final) == 300
    assert {c for c, o in final.items() if o == "n1"} <= got["n1"]
