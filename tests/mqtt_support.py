"""Test helpers for MQTT: a broker to talk to, phones that publish and collect receipts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from collector.mqtt.broker import EmbeddedBroker, free_port
from collector.mqtt.options import parse_url
from devices.mobile.topics import Topics

SHARED_URL = os.environ.get("PUNCHGATE_TEST_MQTT_URL")
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def unique_topics() -> Topics:
    """Topic roots of this test's own, so tests on a shared broker never see each other."""
    tag = uuid.uuid4().hex[:10]
    return Topics(root=f"t{tag}/punchgate/v1", owntracks_root=f"t{tag}/owntracks")


def wait_for(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll until `check()` is truthy; fail with the last value after `timeout`."""
    end = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(every)
        value = check()
    return value


class Phone:
    """A paho client that publishes punches and collects what comes back."""

    def __init__(self, url: str, protocol: str, subscribe: list[str] | None = None) -> None:
        p = parse_url(url)
        v5 = protocol == "5"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"phone-{uuid.uuid4().hex[:12]}",
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        )
        self.client.max_inflight_messages_set(200)
        # The embedded broker queues only for named clients; Mosquitto ignores the name here.
        self.client.username_pw_set(str(p["username"] or "phone"), p["password"])  # type: ignore[arg-type]
        self.received: list[tuple[str, bytes, Any]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect(str(p["host"]), int(p["port"]))  # type: ignore[call-overload]
        self.client.loop_start()
        if subscribe:
            self.client.subscribe([(t, 1) for t in subscribe])
            assert self._subscribed.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((msg.topic, bytes(msg.payload), getattr(msg, "properties", None)))

    def publish(
        self,
        topic: str,
        payload: bytes | str | dict[str, Any],
        *,
        retain: bool = False,
        properties: Any = None,
        wait: bool = True,
    ) -> None:
        body = json.dumps(payload) if isinstance(payload, dict) else payload
        info = self.client.publish(topic, body, qos=1, retain=retain, properties=properties)
        if wait:
            info.wait_for_publish(10)

    def receipts(self) -> list[dict[str, Any]]:
        """JSON bodies received so far."""
        with self._lock:
            return [json.loads(p) for _, p, _ in self.received if p.startswith(b"{")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def private_mosquitto(extra: str = "") -> Iterator[str]:
    """A mosquitto of this test's own on a free port (for tests that restart or tune it)."""
    assert MOSQUITTO is not None
    port = free_port()
    with _tmpdir() as tmp:
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages 1000000\nmax_inflight_messages 0\n{extra}\n"
        )
        proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(lambda: _listening(port), timeout=10)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def _tmpdir() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def embedded_broker() -> Iterator[str]:
    """An amqtt broker on a free port."""
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()
