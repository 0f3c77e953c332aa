"""A receipt that cannot be sent costs that receipt, never the batch it answers.

Found in issue 13: a phone naming an MQTT 5 response topic such as ``evil/#`` made paho
refuse the receipt after the batch was committed, the consumer took that for a store
failure and retried the same batch forever, and every phone message after it waited.
"""

from __future__ import annotations

import json
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from collector.metrics import MQTT_RECEIPTS_FAILED, MQTT_RESPONSE_TOPICS_REFUSED
from collector.mqtt import pipeline as pipeline_module
from collector.mqtt.client import publish_replies
from collector.mqtt.handling import Inbound
from collector.mqtt.options import MqttOptions
from collector.mqtt.pipeline import Pipeline
from collector.store.models import Punch, Quarantine
from devices.mobile.native import receipt_json
from rules.geofence import FixPolicy
from tests.collector.mqtt.test_native import count, punch
from tests.mqtt_support import Phone, wait_for

PATHS = [pytest.param(True, id="ingest-process"), pytest.param(False, id="in-process")]
ORDINARY = 1000


def needs_mqtt5(broker: tuple[str, str]) -> str:
    url, protocol = broker
    if protocol != "5":
        pytest.skip(
            "response topics are MQTT 5 and the embedded broker speaks 3.1.1 only: "
            "set PUNCHGATE_TEST_MQTT_URL=mqtt://127.0.0.1:1883"
        )
    return url


def response(topic: str, correlation: bytes = b"c") -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = topic
    props.CorrelationData = correlation
    return props


def stored_refs(store) -> tuple[int, set[str]]:
    with store.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(Punch)) or 0
        return rows, set(s.scalars(select(Punch.source_ref)))


@pytest.mark.parametrize("ingest_process", PATHS)
def test_a_hostile_response_topic_then_1000_punches_are_all_stored_once_and_acknowledged(
    run_consumer, broker, phone, topics, seeded, now, ingest_process
):
    needs_mqtt5(broker)
    refused_before = MQTT_RESPONSE_TOPICS_REFUSED.value()
    failed_before = MQTT_RECEIPTS_FAILED.value()
    consumer = run_consumer(ingest_process=ingest_process)
    phone.publish(topics.punch("1001"), punch(now, "hostile"), properties=response("evil/#"))
    start = now - timedelta(minutes=30)
    for i in range(ORDINARY):
        ts = (start + timedelta(seconds=i)).isoformat()
        phone.publish(topics.punch(f"100{i % 5 + 1}"), punch(now, f"p{i}", ts=ts), wait=False)
    # Bounded: before the fix the first batch was retried forever and nothing was acked.
    wait_for(lambda: consumer.counters.acked >= ORDINARY + 1, timeout=90)
    rows, refs = stored_refs(seeded)
    assert rows == ORDINARY + 1
    assert refs == {"n:hostile", *(f"n:p{i}" for i in range(ORDINARY))}
    assert count(seeded, Quarantine) == 0
    assert consumer.counters.acked == ORDINARY + 1
    assert consumer.counters.inserted == ORDINARY + 1 and consumer.counters.duplicates == 0
    # The phone hears about every punch on its ack topic, the hostile one with the reason.
    wait_for(lambda: len(phone.receipts()) >= ORDINARY + 1, timeout=30)
    receipts = {r["id"]: r for r in phone.receipts()}
    assert len(receipts) == ORDINARY + 1
    assert {r["status"] for r in receipts.values()} == {"accepted"}
    assert receipts["hostile"]["response_topic_refused"] == "response topic contains a wildcard"
    assert receipts["p0"]["response_topic_refused"] is None
    assert MQTT_RESPONSE_TOPICS_REFUSED.value() == refused_before + 1
    assert MQTT_RECEIPTS_FAILED.value() == failed_before


@pytest.mark.parametrize("ingest_process", PATHS)
def test_response_topics_are_answered_only_in_the_phones_own_replies_namespace(
    run_consumer, broker, phone, topics, seeded, now, ingest_process
):
    url = needs_mqtt5(broker)
    run_consumer(ingest_process=ingest_process)
    spy = Phone(url, "5", subscribe=[f"{topics.root}/#"])
    try:
        own = f"{topics.replies('1001')}/app"
        hostile = [
            topics.replies("1002"),  # another employee's receipts
            topics.ack("1002"),
            topics.status("punchgate-collector"),
            f"{topics.root}/elsewhere",
            "$SYS/evil",
        ]
        for n, topic in enumerate(hostile):
            phone.publish(topics.punch("1001"), punch(now, f"h{n}"), properties=response(topic))
        phone.publish(topics.punch("1001"), punch(now, "own"), properties=response(own, b"42"))
        # Receipts go out in order, each ack before its copy: once the last copy is in,
        # every earlier receipt (and any forged one) is in too.
        wait_for(lambda: any(t == own for t, _, _ in spy.received))
        answered = [t for t, b, _ in spy.received if "/punch/" not in t and b.startswith(b"{")]
        assert sorted(answered) == sorted([own, *([topics.ack("1001")] * (len(hostile) + 1))])
        (props,) = [p for t, _, p in spy.received if t == own]
        assert props.CorrelationData == b"42"
        wait_for(lambda: len(phone.receipts()) >= len(hostile) + 1)
        by_id = {r["id"]: r for r in phone.receipts()}
        assert by_id["own"]["response_topic_refused"] is None
        for n in range(len(hostile)):
            assert by_id[f"h{n}"]["status"] == "accepted"
            assert by_id[f"h{n}"]["response_topic_refused"].startswith("response topic ")
        assert count(seeded, Punch) == len(hostile) + 1
    finally:
        spy.close()


@pytest.mark.parametrize("ingest_process", PATHS)
def test_a_receipt_that_cannot_be_written_holds_up_nothing(
    run_consumer, phone, topics, seeded, now, ingest_process
):
    # Any broker: a rejected message whose id JSON-escapes half a UTF-16 pair. Its
    # quarantine entry was committed, then writing its receipt raised, and the batch was
    # retried forever.
    consumer = run_consumer(ingest_process=ingest_process)
    phone.publish(topics.punch("1001"), b'{"schema_version": 9, "id": "\\ud800-odd"}')
    for i in range(20):
        phone.publish(topics.punch("1002"), punch(now, f"after-{i}"), wait=False)
    wait_for(lambda: consumer.counters.acked >= 21, timeout=60)
    assert count(seeded, Punch) == 20 and count(seeded, Quarantine) == 1
    wait_for(lambda: len(phone.receipts()) >= 21)
    odd = [r for r in phone.receipts() if r["status"] == "rejected"]
    assert [(r["id"], r["reason"]) for r in odd] == [("\ufffd-odd", "unknown schema_version 9")]


def test_a_receipt_the_client_refuses_is_counted_not_raised():
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="never-connected")
    replies: list[list[tuple[str, bytes, bytes | None]]] = [
        [("evil/#", b"{}", None)],
        [("fine/topic", b"{}", b"corr")],
        [("$x/+", b"{}", None)],
    ]
    # QoS 1: paho keeps the good one for when it connects; the two bad ones are refused.
    assert publish_replies(client, replies, 1) == 2
    # QoS 0: with no connection the good one is lost as well.
    assert publish_replies(client, replies, 0) == 3


def test_a_failure_after_the_commit_is_not_a_failure_to_store(seeded, now, monkeypatch):
    # The Pipeline's contract: `run` raises only when the batch was not committed; a
    # receipt that cannot be written is counted in the committed batch's result.
    real = receipt_json  # what the pipeline calls, until the patch below

    def fragile(status, ident, *rest):
        if ident == "b":
            raise RuntimeError("cannot write this receipt")
        return real(status, ident, *rest)

    monkeypatch.setattr(pipeline_module, "receipt_json", fragile)
    pipe = Pipeline(seeded, MqttOptions(), FixPolicy())
    pipe.start()
    topic = MqttOptions().topics.punch("1001")
    batch = [Inbound(topic, json.dumps(punch(now, i)).encode(), n, 1) for n, i in enumerate("abc")]
    result = pipe.run(batch, now)
    assert (result.inserted, result.receipts_failed) == (3, 1)
    assert [len(r) for r in result.replies] == [1, 0, 1]
    assert count(seeded, Punch) == 3
