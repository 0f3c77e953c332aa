"""Fuzzed phone messages through the consumer's one-message path into the store.

Each message goes through `Decider.handle` (topic → parser → geofence decision) and the
one `ingest`, as the consumer does, inside one transaction. Deciding never raises (the
consumer would quarantine an "internal error"); every stored punch is sound; every
message that is not a punch is quarantined with a reason or is a message type that is
never a punch.
"""

from __future__ import annotations

import json
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from collector.mqtt.directory import Directory
from collector.mqtt.handling import Decider, Inbound
from collector.store.ingest import QuarantineItem, ingest
from collector.store.models import Punch, Quarantine, Site
from devices.mobile.topics import Topics
from devices.mobile.wire import MAX_PAYLOAD_BYTES
from rules.geofence import FixPolicy
from rules.vocabulary import PunchState, SourceKind
from tests.conftest import NOW
from tests.factories import add_employee
from tests.fuzz.test_fuzz_parsers import json_scalars, native_object, owntracks_object

TOPICS = Topics()
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
near = st.fixed_dictionaries(
    {
        "schema_version": st.just(1),
        "id": st.text(alphabet="abcdef0123456789", min_size=1, max_size=12),
        "ts": st.integers(-3 * 86400, 600).map(lambda s: (NOW + timedelta(seconds=s)).isoformat()),
        "lat": st.floats(52.515, 52.525),
        "lon": st.floats(13.40, 13.41),
        "acc": st.floats(0, 300),
    },
    optional={
        "kind": st.sampled_from(["in", "out", "auto"]),
        "mock": st.booleans(),
        "device": json_scalars,
    },
)


def _encode(data: dict[str, object]) -> bytes:
    return json.dumps(data).encode()


stored: list[str] = []
payloads = st.one_of(
    near.map(lambda d: json.dumps(d).encode()),
    native_object.map(lambda d: json.dumps(d, allow_nan=True).encode()),
    owntracks_object.map(lambda d: json.dumps(d, allow_nan=True).encode()),
    st.binary(max_size=120),
)
topic = st.one_of(
    st.sampled_from(["1001", "1002", "nobody", "", "a/b", "+", "#"]).map(TOPICS.punch),
    st.sampled_from(["user1001", "stranger"]).map(lambda u: TOPICS.owntracks(u, "phone")),
    st.text(max_size=30),
)


@pytest.fixture
def decider(store, now):
    with store.sessions.begin() as s:
        s.add(
            Site(
                code="hq",
                name="HQ",
                timezone="Europe/Berlin",
                lat=52.52,
                lon=13.405,
                radius_m=150,
                fence={"max_accuracy_m": 100, "outside": "flag"},
            )
        )
        for code in ("1001", "1002"):
            add_employee(s, code, now, identities={"owntracks": f"user{code}"})
    directory = Directory(store.engine, identity_key="owntracks", default_tz="UTC")
    directory.refresh(force=True)
    return Decider(directory, TOPICS, FixPolicy())


def _one(store, decider, msg: Inbound):
    with store.engine.begin() as conn:
        handled = decider.handle(msg, conn, NOW)  # raising here is the failure we look for
        items = [handled.item] if handled.item is not None else []
        result = ingest(conn, items, now=NOW, policy=store.policy)
    return handled, result


@FUZZ
@given(
    message=st.one_of(
        st.tuples(topic, payloads),
        st.tuples(st.sampled_from(["1001", "1002"]).map(TOPICS.punch), near.map(_encode)),
    ),
    mid=st.integers(1, 65535),
)
def test_any_message_is_stored_soundly_or_quarantined_with_a_reason(store, decider, message, mid):
    where, payload = message
    handled, result = _one(store, decider, Inbound(where, payload, mid, 1))
    stored.extend(o for o in result.outcomes if o == "inserted")
    if isinstance(handled.item, QuarantineItem):
        assert handled.item.reason and result.outcomes == ["quarantined"]
    with store.sessions() as s:
        for p in s.scalars(select(Punch)):
            assert p.employee_code in ("1001", "1002") and p.source_kind == SourceKind.MOBILE
            assert p.occurred_at is not None and p.state in {x.value for x in PunchState}
            assert p.lat is None or -90 <= p.lat <= 90
            assert p.lon is None or -180 <= p.lon <= 180
        for q in s.scalars(select(Quarantine)):
            assert q.reason


reply_topics = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=300),
    st.text(max_size=40).map(lambda t: f"{TOPICS.replies('1001')}/{t}"),
    st.sampled_from(["evil/#", "$SYS/x", TOPICS.replies("1002"), TOPICS.ack("1002"), ""]),
)


@pytest.fixture(scope="module")
def paho():
    # A client that never connects still checks each topic (and raises for a bad one).
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fuzz")


@FUZZ
@given(payload=st.one_of(near.map(_encode), payloads), reply=reply_topics)
def test_a_receipt_goes_only_where_the_phone_may_read_and_paho_can_publish(
    store, decider, paho, payload, reply
):
    msg = Inbound(TOPICS.punch("1001"), payload, 1, 1, response_topic=reply)
    handled, _result = _one(store, decider, msg)
    assert handled.reply_to[0] == TOPICS.ack("1001")
    own = TOPICS.replies("1001")
    for topic in handled.reply_to[1:]:
        assert topic == own or topic.startswith(f"{own}/")
        assert handled.response_topic_refused is None
        paho.publish(topic, b"{}", qos=0)
    if len(handled.reply_to) == 1:
        assert handled.response_topic_refused


def test_the_fuzzer_stored_punches_too(store, decider):
    # The property above also held for messages that were stored, not only for rejects.
    stored.clear()
    test_any_message_is_stored_soundly_or_quarantined_with_a_reason(store=store, decider=decider)
    assert stored


def test_payload_over_the_limit_is_quarantined_with_its_reason(store, decider):
    big = json.dumps({"schema_version": 1, "pad": "x" * MAX_PAYLOAD_BYTES}).encode()
    _handled, result = _one(store, decider, Inbound(TOPICS.punch("1001"), big, 1, 1))
    assert result.outcomes == ["quarantined"]
    with store.sessions() as s:
        reason = s.scalar(select(Quarantine.reason))
        assert s.scalar(select(func.count()).select_from(Punch)) == 0
    assert "exceeds" in reason and str(MAX_PAYLOAD_BYTES) in reason


def test_a_good_message_is_stored_once(store, decider):
    body = {
        "schema_version": 1,
        "id": "abc",
        "ts": NOW.isoformat(),
        "lat": 52.52,
        "lon": 13.405,
        "acc": 10,
    }
    for _ in range(2):  # a QoS 1 redelivery
        _handled, result = _one(
            store, decider, Inbound(TOPICS.punch("1001"), json.dumps(body).encode(), 7, 1)
        )
    assert result.outcomes == ["duplicate"]
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 1
