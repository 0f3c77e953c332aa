"""`punchgate simulate phones` against the embedded broker: delivered means acknowledged."""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from collector.mqtt.broker import EmbeddedBroker
from tests.helpers import run_cli, wait_for


@pytest.fixture
def embedded() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(port=0)
    broker.start()
    yield broker
    broker.stop()


class Watcher:
    """A 3.1.1 client counting every message the broker passes on."""

    def __init__(self, port: int) -> None:
        self.received = 0
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="watcher", protocol=MQTTProtocolVersion.MQTTv311
        )
        self.client.username_pw_set("watcher")
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._count
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _count(self, *_args: object) -> None:
        self.received += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("rate", [4.0, 20.0])
def test_simulate_phones_reaches_the_embedded_broker_at_the_rate_asked(embedded, rate, caplog):
    caplog.set_level(logging.INFO, logger="collector.mqtt.broker")
    watcher = Watcher(embedded.port)
    try:
        assert watcher.subscribed.wait(10)
        seconds = 5.0
        # The settings' default protocol is MQTT 5, which the embedded broker does not speak.
        out = run_cli(
            "simulate", "phones", "--url", f"mqtt://simulator@127.0.0.1:{embedded.port}",
            "--count", "6", "--rate", str(rate), "--duration", str(seconds), env={},
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        counts = re.search(
            r"published (\d+) messages over MQTT ([\d.]+) .*: (\d+) acknowledged", out.stderr
        )
        assert counts, out.stderr
        published, acked = int(counts.group(1)), int(counts.group(3))
        assert counts.group(2) == "3.1.1"
        assert acked == published
        # Messages, not phone steps, a second: loosely, as the machine may be busy.
        assert 0.5 * rate * seconds <= published <= 1.3 * rate * seconds + 2, out.stderr
        assert wait_for(lambda: watcher.received >= published, timeout=10)
        # The broker turning the MQTT 5 attempt away is one line, not an asyncio traceback.
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert "turned away a client" in caplog.text
    finally:
        watcher.close()


def test_simulate_phones_reports_failure_when_the_broker_never_answers():
    # Something listens and accepts, but answers no CONNECT (a broker of another kind).
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        port = mute.getsockname()[1]
        out = run_cli(
            "simulate", "phones", "--url", f"mqtt://simulator@127.0.0.1:{port}",
            "--duration", "2", env={}, timeout=60,
        )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "did not accept MQTT 5 or MQTT 3.1.1" in out.stderr
    assert "published" not in out.stderr
