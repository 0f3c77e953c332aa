"""Queue many packets on a paho client and wake its network thread once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt


class _Hush:
    """Stands in for paho's wake-up socket while a batch's packets are queued."""

    def send(self, _data: bytes) -> int:
        return 1

    def close(self) -> None:
        pass


@contextlib.contextmanager
def one_wakeup(client: mqtt.Client) -> Iterator[None]:
    """Queue many packets, wake paho's network thread once.

    paho writes one byte to its wake-up socket pair for every queued packet; for a batch of
    PUBACKs and receipts that is two syscalls and two network-thread wake-ups per punch,
    which halves throughput. If paho replaced its sockets meanwhile (a reconnect), its new
    pair is left alone.
    """
    real = client._sockpairW
    hush: Any = _Hush()
    client._sockpairW = hush
    try:
        yield
    finally:
        if client._sockpairW is hush:
            client._sockpairW = real
        wake = client._sockpairW
        if wake is not None:
            with contextlib.suppress(OSError):
                wake.send(b"0")
