"""Emulated terminals on loopback for the ZK tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest

from devices.zk.emulator import EmulatorHost, Terminal, TerminalSpec
from devices.zk.emulator.traffic import history, make_users

HISTORY_END = date(2026, 11, 26)


@pytest.fixture
def emulator() -> Iterator[EmulatorHost]:
    """An emulator host serving terminals on free loopback ports."""
    with EmulatorHost() as host:
        yield host


@pytest.fixture
def make_terminal(emulator: EmulatorHost) -> Callable[..., tuple[Terminal, int]]:
    """Start a terminal with `records` generated punches; returns it and its port."""

    def make(
        records: int = 300, users: int = 40, chinese: bool = False, seed: int = 42, **spec
    ) -> tuple[Terminal, int]:
        people = make_users(users, chinese=chinese)
        terminal = Terminal(
            TerminalSpec(**spec), people, history(people, records, end=HISTORY_END, seed=seed)
        )
        return terminal, emulator.add(terminal)

    return make
