"""Service wiring: embedded broker when none is configured, simulated phones, deploy ACLs."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select

from collector.mqtt.broker import EmbeddedBroker, free_port
from collector.mqtt.consumer import MqttConsumer
from collector.mqtt.options import MqttOptions
from collector.mqtt.workers import mqtt_workers
from collector.runtime import Store
from collector.settings import Settings
from collector.store.models import Punch
from devices.mobile.simulator import PhoneSimulator
from devices.mobile.topics import Topics
from rules.vocabulary import PunchFlag
from tests.factories import add_employee
from tests.mqtt_support import MOSQUITTO, Phone, wait_for

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"


def test_without_a_broker_url_the_service_starts_an_embedded_one(seeded, now):
    settings = Settings(database_url=seeded.settings.database_url, mqtt_embedded_port=free_port())
    store = Store(settings=settings, engine=seeded.engine, sessions=seeded.sessions)
    workers = mqtt_workers(store)
    broker, consumer = workers
    assert isinstance(broker, EmbeddedBroker) and isinstance(consumer, MqttConsumer)
    assert consumer.options.protocol == "3.1.1" and consumer.options.port == broker.port
    for w in workers:
        w.start()
    phone = None
    try:
        assert consumer.subscribed.wait(10)
        topics = Topics()
        phone = Phone(broker.url, "3.1.1", subscribe=[topics.ack("1001")])
        ts = (now - timedelta(seconds=5)).isoformat()
        phone.publish(
            topics.punch("1001"),
            {"schema_version": 1, "id": "emb", "ts": ts, "lat": 52.52, "lon": 13.405, "acc": 9},
        )
        (receipt,) = wait_for(phone.receipts)
        assert receipt["status"] == "accepted"
    finally:
        if phone is not None:
            phone.close()
        for w in reversed(workers):
            w.stop()


def test_simulated_phones_commute_and_punch(run_consumer, broker, topics, seeded, now):
    with seeded.sessions.begin() as s:
        for code in ("1006", "1007"):
            add_employee(s, code, now, identities={"owntracks": f"user{code}"})
    consumer = run_consumer()
    url, protocol = broker
    port = int(url.rsplit(":", 1)[1])
    sim = PhoneSimulator(
        host="127.0.0.1", port=port, topics=topics, codes=[f"100{i}" for i in range(1, 8)],
        site=(52.52, 13.405, 150.0), protocol=protocol, region="Head office", seed=3,
    )  # fmt: skip
    sim.client.connect("127.0.0.1", port)
    sim.client.loop_start()
    try:
        when = now - timedelta(hours=2)
        for _ in range(40):
            for phone in sim.phones:
                sim.tick(phone, when)
            when += timedelta(seconds=30)
        wait_for(lambda: consumer.counters.received >= sim.published, timeout=30)
    finally:
        sim.client.disconnect()
        sim.client.loop_stop()
    with seeded.sessions() as s:
        punches = list(s.scalars(select(Punch)))
    ins = {p.employee_code for p in punches if p.state == "in"}
    assert len(ins) >= 5  # most phones made it to the office
    kinds = {p.source_ref.split(":")[0] for p in punches}
    assert kinds == {"n", "ott"}  # native punches and OwnTracks transitions
    spoofer = [p for p in punches if p.employee_code == "1007"]
    assert spoofer and all(p.flags & PunchFlag.MOCK_LOCATION for p in spoofer)
    assert all(p.site_code == "hq" for p in punches if p.state == "in")


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
def test_deploy_acl_lets_a_phone_write_only_its_own_topic(seeded, now):
    # Mosquitto started as root reads its password and ACL files as user mosquitto, who may
    # not be able to read the checkout (a 0700 home or mktemp folder): it reads copies here.
    tmp = Path(tempfile.mkdtemp())
    tmp.chmod(0o755)
    try:
        acl = tmp / "punchgate.acl"
        shutil.copyfile(DEPLOY / "punchgate.acl", acl)
        acl.chmod(0o644)
        passwd = tmp / "passwd"
        for i, user in enumerate(("punchgate", "1001")):
            flag = ["-c"] if i == 0 else []
            subprocess.run(
                ["mosquitto_passwd", "-b", *flag, str(passwd), user, f"pw-{user}"], check=True
            )
        passwd.chmod(0o644)
        port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
            f"password_file {passwd}\nacl_file {acl}\n"
        )
        assert MOSQUITTO is not None
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
        consumer = None
        phone = None
        try:
            wait_for(lambda: _listening(port), timeout=10)
            consumer = MqttConsumer(
                seeded,
                MqttOptions(port=port, username="punchgate", password="pw-punchgate",
                            client_id="acl-test"),
                clock=lambda: now,
            )  # fmt: skip
            consumer.start()
            assert consumer.subscribed.wait(10)
            # The phone's MQTT 5 response topic, in its own replies namespace: the
            # collector (its receipt connection) may write there too.
            reply = f"{Topics().replies('1001')}/app"
            listen = [Topics().ack("1001"), Topics().ack("1002"), reply]
            phone = Phone(f"mqtt://1001:pw-1001@127.0.0.1:{port}", "5", subscribe=listen)
            ts = (now - timedelta(seconds=5)).isoformat()
            body = {"schema_version": 1, "ts": ts, "lat": 52.52, "lon": 13.405, "acc": 9}
            phone.publish(Topics().punch("1002"), {**body, "id": "forged"})
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = reply
            phone.publish(Topics().punch("1001"), {**body, "id": "own"}, properties=props)
            wait_for(lambda: len(phone.receipts()) == 2)
            assert sorted(t for t, _, _ in phone.received) == [Topics().ack("1001"), reply]
            # The forged one never reached the consumer.
            assert [r["id"] for r in phone.receipts()] == ["own", "own"]
            assert consumer.counters.received == 1
        finally:
            if phone is not None:
                phone.close()
            if consumer is not None:
                consumer.stop()
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
