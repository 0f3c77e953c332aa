"""Two `serve --roles mqtt` processes in one MQTT 5 shared subscription on Mosquitto.

Each process decides, stores and acks after its commit (no ingest child). A SIGKILLed
member's unacknowledged and queued messages are what Mosquitto 2.0 does not hand to the
other member: they wait in the dead member's persistent session and are stored once it
comes back under the same node id (docs/fleet.md). Nothing is lost or stored twice.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.runtime import Store
from collector.store.models import Punch, Quarantine
from tests.factories import add_employee
from tests.fleet_support import ServeProcess
from tests.mqtt_support import MOSQUITTO, Phone, private_mosquitto, unique_topics, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto (shared subscriptions)"),
]
TOTAL = 2000
PEOPLE = 40
GROUP = "punchgate"
BASE_ID = "pg-fleet"


def _stored(store: Store) -> int:
    with store.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Punch)) or 0)


def test_shared_members_sigkill_one_nothing_lost_or_doubled(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with store.sessions.begin() as s:
        for i in range(PEOPLE):
            add_employee(s, str(3000 + i), now)
    topics = unique_topics()
    with private_mosquitto() as url:
        env = {
            "PUNCHGATE_DATABASE_URL": db_url,
            "PUNCHGATE_SECRET_KEY": "n1UQzNrqH0K9qV1yJ4f3l8rP6xw2sC5bE7dA0gH3kT4=",
            "PUNCHGATE_MQTT_URL": url.replace("mqtt://", "mqtt://punchgate@"),
            "PUNCHGATE_MQTT_PROTOCOL": "5",
            "PUNCHGATE_MQTT_CLIENT_ID": BASE_ID,
            "PUNCHGATE_MQTT_SHARE_GROUP": GROUP,
            "PUNCHGATE_MQTT_INGEST_PROCESS": "false",
            "PUNCHGATE_MQTT_SESSION_EXPIRY_S": "300",
            "PUNCHGATE_MQTT_TOPIC_ROOT": topics.root,
            "PUNCHGATE_MQTT_OWNTRACKS_ROOT": topics.owntracks_root,
            "PUNCHGATE_LOG_LEVEL": "WARNING",
        }
        statuses = [topics.status(f"{BASE_ID}-{n}") for n in ("m1", "m2")]
        watcher = Phone(url, "5", subscribe=statuses)
        procs = {n: ServeProcess(n, env, "mqtt", tmp_path) for n in ("m1", "m2")}
        phone = Phone(url, "5")

        def online(topic: str) -> bool:
            return any(t == topic and b == b"online" for t, b, _ in watcher.received)

        try:
            wait_for(lambda: all(online(t) for t in statuses), timeout=60)
            start = now - timedelta(minutes=2)

            def publish(numbers: range) -> None:
                for n in numbers:
                    body = {
                        "schema_version": 1,
                        "id": f"fleet-{n}",
                        "ts": (start + timedelta(milliseconds=n)).isoformat(),
                        "lat": 52.5201,
                        "lon": 13.4051,
                        "acc": 10,
                        "kind": "auto",
                    }
                    phone.publish(topics.punch(str(3000 + n % PEOPLE)), body, wait=False)
                    if n % 100 == 0:
                        time.sleep(0.05)

            publisher = threading.Thread(target=publish, args=(range(TOTAL),))
            publisher.start()
            wait_for(lambda: _stored(store) >= 400, timeout=60)
            procs["m1"].kill()
            publisher.join(120)
            # m2 drains what the broker gives it; m1's share waits in m1's session.
            time.sleep(3)
            settled = _stored(store)
            wait_for(lambda: _stored(store) == settled, timeout=30, every=1.0)
            held_for_m1 = TOTAL - _stored(store)
            print(f"\nheld in the killed member's session: {held_for_m1} of {TOTAL}")
            assert held_for_m1 > 0, "Mosquitto handed the dead member's share to m2"
            (tmp_path / "again").mkdir()
            procs["m1"] = ServeProcess("m1", env, "mqtt", tmp_path / "again")
            wait_for(lambda: _stored(store) >= TOTAL, timeout=120, every=0.25)
            time.sleep(1.0)  # a late redelivery would show up as an extra row now
            with store.sessions() as s:
                refs = s.scalar(select(func.count(func.distinct(Punch.source_ref))))
                quarantined = s.scalar(select(func.count()).select_from(Quarantine))
            assert (_stored(store), refs, quarantined) == (TOTAL, TOTAL, 0)
        finally:
            for proc in procs.values():
                proc.terminate()
            phone.close()
            watcher.close()
