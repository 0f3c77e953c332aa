"""The consumer rides out a broker restart: it reconnects and its persisted session resumes."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.mqtt.broker import free_port
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import MqttOptions
from collector.store.models import Punch
from tests import helpers
from tests.mqtt_support import MOSQUITTO, Phone, unique_topics, wait_for

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")


def stored(store) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(Punch)) or 0


def test_broker_restart_is_survived_without_loss(seeded, now):
    tmp = Path(tempfile.mkdtemp())
    tmp.chmod(0o777)  # mosquitto started as root writes its database as user mosquitto
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {tmp}/\nmax_queued_messages 100000\n"
    )

    def broker() -> subprocess.Popen[bytes]:
        assert MOSQUITTO is not None
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
        wait_for(lambda: _listening(port), timeout=10)
        return proc

    topics = unique_topics()
    options = MqttOptions(port=port, topics=topics, client_id=f"rc-{topics.root[:8]}")
    proc = broker()
    consumer = MqttConsumer(seeded, replace(options), clock=lambda: now)
    consumer.start()
    phone = None
    try:
        assert consumer.subscribed.wait(10)
        consumer.stop()  # the session (and its subscriptions) live on in the broker
        phone = Phone(f"mqtt://127.0.0.1:{port}", "5")
        for i in range(20):
            body = {"schema_version": 1, "id": f"q{i}", "lat": 52.52, "lon": 13.405, "acc": 5,
                    "ts": (now - timedelta(seconds=60 - i)).isoformat()}  # fmt: skip
            phone.publish(topics.punch("1001"), body)
        phone.close()
        phone = None
        proc.terminate()  # the broker saves the queued punches and goes away
        proc.wait(10)
        consumer = MqttConsumer(seeded, replace(options), clock=lambda: now)
        consumer.start()  # nobody listening: it keeps retrying with backoff
        proc = broker()
        wait_for(lambda: stored(seeded) == 20, timeout=30)
        assert consumer.connected.is_set()
        # Receipts flow again too (the ingest process's own connection came back): a
        # phone re-sends a punch until it hears a receipt, as the app does.
        phone = Phone(f"mqtt://127.0.0.1:{port}", "5", subscribe=[topics.ack("1001")])
        body = {"schema_version": 1, "id": "after", "lat": 52.52, "lon": 13.405, "acc": 5,
                "ts": now.isoformat()}  # fmt: skip

        def answered() -> bool:
            phone.publish(topics.punch("1001"), body)
            return helpers.wait_for(
                lambda: any(r["id"] == "after" for r in phone.receipts()), timeout=1
            )

        wait_for(answered, timeout=40)
        # Receipts of the earlier punches may come too (written once the receipt connection
        # is back); the one asked for must be among them, and accepted.
        got = phone.receipts()
        assert "accepted" in {r["status"] for r in got if r["id"] == "after"}
        assert {r["id"] for r in got} <= {"after"} | {f"q{i}" for i in range(20)}
        assert stored(seeded) == 21
    finally:
        if phone is not None:
            phone.close()
        consumer.stop()
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
