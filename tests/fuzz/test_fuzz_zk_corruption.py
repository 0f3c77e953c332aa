"""The poller against an emulated terminal whose Nth reply is garbled (the emulator's switch).

Whichever reply is corrupted, on either transport and record layout: the poll fails or
succeeds without raising, nothing is stored twice, and the next clean poll brings the
store level with the terminal's log.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.poller.device import TerminalPoller
from collector.poller.terminals import load_terminals
from tests.collector.poller.conftest import (  # noqa: F401  (fixtures)
    add_terminal,
    distinct_punches,
    emulator,
    punch_count,
    quarantine_rows,
    zk_store,
)

FUZZ = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CODES = itertools.count()
START = datetime(2026, 11, 26, 12, 0)  # terminal-local, as devices keep time


def _check(zk_store, add_terminal, transport, size, faults):  # noqa: F811
    # A terminal and people of its own per example: examples share the store, and the same
    # person at the same instant from two terminals is one punch.
    index = next(CODES)
    code = f"fz{index}"
    terminal = add_terminal(
        code, records=150, record_size=size, transport=transport, first_code=10_000 + 100 * index
    )
    (config,) = load_terminals(zk_store.engine, [code], box=zk_store.box)
    poller = TerminalPoller(zk_store, config)
    minutes = itertools.count(index * 100)
    for corrupt, new in faults:
        for _ in range(new):
            when = START + timedelta(minutes=next(minutes))
            assert terminal.punch(terminal.users[0].user_id, when=when)
        terminal.faults.corrupt_reply = corrupt
        poller.poll()  # may fail; must not raise
        terminal.faults.corrupt_reply = None
        assert poller.poll() is not None
        assert punch_count(zk_store, code) == distinct_punches(terminal)
    assert quarantine_rows(zk_store) == []  # a garbled reply is a failed poll, not bad data


faults = st.lists(st.tuples(st.integers(1, 12), st.integers(0, 5)), min_size=1, max_size=4)


@FUZZ
@given(faults=faults)
def test_garbled_tcp_replies_lose_and_double_nothing(zk_store, add_terminal, faults):  # noqa: F811
    _check(zk_store, add_terminal, "tcp", 40, faults)


@FUZZ
@given(faults=faults)
def test_garbled_udp_replies_lose_and_double_nothing(zk_store, add_terminal, faults):  # noqa: F811
    _check(zk_store, add_terminal, "udp", 16, faults)
