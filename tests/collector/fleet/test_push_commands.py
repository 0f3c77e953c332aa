"""Push terminals across API processes: a queued command is handed out once, whoever answers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from collector.push.commands import hand_out, queue_command
from collector.runtime import utcnow
from devices.zk.push.wire import parse_command_line
from tests.factories import add_employee
from tests.push_support import add_push_device


def test_concurrent_getrequests_hand_each_command_out_once(store: Any, now: Any) -> None:
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: the requests take turns anyway")
    add_push_device(store)
    with store.sessions.begin() as s:
        for i in range(30):
            add_employee(s, str(5000 + i), now)
    with store.sessions.begin() as s:
        queue_command(s, device_code="face-1", kind="sync_roster", requested_by="hr", now=now)
    handed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def node() -> None:  # four API processes answering the same terminal's polls at once
        barrier.wait()
        for _ in range(3):
            lines = hand_out(store, serial="SIM0001", token=None, info=None, now=utcnow())
            with lock:
                handed.extend(parse_command_line(line)[0] for line in lines)

    threads = [threading.Thread(target=node) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(handed) == 30 and len(set(handed)) == 30
