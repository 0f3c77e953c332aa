"""The consumer process killed mid-stream loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.store.models import Punch, Quarantine
from tests.factories import add_employee
from tests.mqtt_support import (
    MOSQUITTO,
    Phone,
    private_mosquitto,
    unique_topics,
    wait_for,
)

TOTAL = 5000
PEOPLE = 50
PUNCHGATE = str(Path(sys.executable).parent / "punchgate")


@contextmanager
def crash_broker(protocol: str) -> Iterator[tuple[str, str]]:
    """A broker that may queue thousands for an offline consumer (the shared one keeps 1000)."""
    with private_mosquitto() as url:
        yield url, protocol


def stored(store) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(Punch)) or 0


# amqtt (the embedded broker) was seen not to hand over every unacknowledged message
# after a SIGKILL within two minutes, so this guarantee is only tested on Mosquitto.
@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto (amqtt loses in-flight messages)")
@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_sigkill_while_publishing_5000_stores_each_once(store, db_url, tmp_path, protocol):
    now = datetime.now(UTC)
    with store.sessions.begin() as s:
        for i in range(PEOPLE):
            add_employee(s, str(2000 + i), now)
    topics = unique_topics()
    with crash_broker(protocol) as (url, protocol):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")},
            "PUNCHGATE_DATABASE_URL": db_url,
            "PUNCHGATE_MQTT_URL": url.replace("mqtt://", "mqtt://punchgate@"),
            "PUNCHGATE_MQTT_PROTOCOL": protocol,
            "PUNCHGATE_MQTT_CLIENT_ID": f"crash-{topics.root.split('/')[0]}",
            "PUNCHGATE_MQTT_TOPIC_ROOT": topics.root,
            "PUNCHGATE_MQTT_OWNTRACKS_ROOT": topics.owntracks_root,
            "PUNCHGATE_LOG_LEVEL": "WARNING",
        }
        log = (tmp_path / "consumer.log").open("w")

        def launch() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen([PUNCHGATE, "mqtt", "consume"], env=env, stdout=log, stderr=log)
            # Subscribed once the broker holds our session: wait for the retained status.
            return proc

        watcher = Phone(url, protocol, subscribe=[topics.status(env["PUNCHGATE_MQTT_CLIENT_ID"])])
        consumer = launch()
        phone = Phone(url, protocol)
        try:
            # Its session (and subscriptions) exist once it says it is online.
            wait_for(lambda: b"online" in [b for _, b, _ in watcher.received], timeout=90)
            start = now - timedelta(minutes=2)

            def publish_all() -> None:
                for n in range(TOTAL):
                    body = {
                        "schema_version": 1,
                        "id": f"crash-{n}",
                        "ts": (start + timedelta(milliseconds=n)).isoformat(),
                        "lat": 52.5201 + (n % 97) * 1e-6,
                        "lon": 13.4051,
                        "acc": 10,
                        "kind": "auto",
                    }
                    phone.publish(topics.punch(str(2000 + n % PEOPLE)), body, wait=False)
                    if n % 250 == 0:
                        time.sleep(0.05)  # a steady stream rather than one burst

            publisher = threading.Thread(target=publish_all)
            publisher.start()
            wait_for(lambda: stored(store) >= 800, timeout=60)
            consumer.send_signal(signal.SIGKILL)
            consumer.wait(10)
            killed_at = stored(store)
            assert killed_at < TOTAL  # it really died mid-stream
            consumer = launch()
            publisher.join(120)
            wait_for(lambda: stored(store) >= TOTAL, timeout=120, every=0.25)
            time.sleep(1.0)  # any late redelivery would show up as an extra row now
            with store.sessions() as s:
                refs = s.scalar(select(func.count(func.distinct(Punch.source_ref))))
                quarantined = s.scalar(select(func.count()).select_from(Quarantine))
            assert (stored(store), refs, quarantined) == (TOTAL, TOTAL, 0)
        finally:
            consumer.terminate()
            consumer.wait(20)
            phone.close()
            watcher.close()
            log.close()
