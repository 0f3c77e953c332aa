"""What the HTTP emulate commands (hikvision, dahua, biotime) share: start, announce, serve."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from collector.cli.common import console
from devices.httpemulator import LoopbackServer

E = TypeVar("E", bound=LoopbackServer)


@contextmanager
def started(count: int, port: int, make: Callable[[int, int], E]) -> Iterator[list[E]]:
    """`count` emulators, the i-th `make(i, port)` on port + i (port 0: free ports); all stopped
    on leaving."""
    emulators: list[E] = []
    try:
        for i in range(count):
            emulator = make(i, port + i if port else 0)
            emulator.start()
            emulators.append(emulator)
        yield emulators
    finally:
        for emulator in emulators:
            emulator.stop()


def announce(hello: dict[str, Any], line: str) -> None:
    """One JSON line for the program that started us (stdout), one line for a person."""
    print(json.dumps(hello), flush=True)
    console.print(line)


def serve(live_every: float, duration: float | None, punch: Callable[[random.Random], Any]) -> None:
    """Wait `duration` seconds (None: until Ctrl-C); `punch` every `live_every` s (0: never)."""
    rng = random.Random()
    stop_at = None if duration is None else time.monotonic() + duration
    try:
        while stop_at is None or time.monotonic() < stop_at:
            wait = live_every or 1.0
            time.sleep(wait if stop_at is None else max(0.0, min(wait, stop_at - time.monotonic())))
            if live_every:
                punch(rng)
    except KeyboardInterrupt:
        pass
