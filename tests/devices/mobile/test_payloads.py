"""Topic layout and payload parsing of native and OwnTracks phone messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.mobile.native import Receipt, parse_native, receipt_json
from devices.mobile.owntracks import (
    Ignored,
    OwnTracksLocation,
    OwnTracksTransition,
    parse_owntracks,
)
from devices.mobile.topics import NativeTopic, OwnTracksTopic, Topics
from devices.mobile.wire import MAX_PAYLOAD_BYTES, PayloadError

T = Topics(root="x/punchgate/v1", owntracks_root="x/owntracks")


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [
        ("x/punchgate/v1/punch/1001", NativeTopic("1001")),
        ("x/punchgate/v1/punch/1001/extra", None),
        ("x/punchgate/v1/punch/", None),
        ("x/punchgate/v1/ack/1001", None),
        ("x/owntracks/alice/phone", OwnTracksTopic("alice", "phone")),
        ("x/owntracks/alice/phone/event", OwnTracksTopic("alice", "phone", event=True)),
        ("x/owntracks/alice/phone/cmd", None),
        ("x/owntracks/alice/phone/waypoints", None),
        ("owntracks/alice/phone", None),
    ],
)
def test_topics_round_trip(topic, parsed):
    assert T.parse(topic) == parsed


def test_topic_builders_and_subscriptions():
    assert T.punch("7") == "x/punchgate/v1/punch/7"
    assert T.ack("7") == "x/punchgate/v1/ack/7"
    assert T.parse(T.owntracks_event("a", "d")) == OwnTracksTopic("a", "d", True)
    assert T.subscriptions() == [
        "x/punchgate/v1/punch/+",
        "x/owntracks/+/+",
        "x/owntracks/+/+/event",
    ]


REPLIES = "x/punchgate/v1/replies/1001"


@pytest.mark.parametrize(
    ("topic", "refusal"),
    [
        (REPLIES, None),
        (f"{REPLIES}/app-7f3a", None),
        (f"{REPLIES}/a/b/c", None),
        (f"{REPLIES}/café", None),
        ("evil/#", "contains a wildcard"),
        (f"{REPLIES}/#", "contains a wildcard"),
        (f"{REPLIES}/+/x", "contains a wildcard"),
        ("$SYS/broker/x", "starts with $"),
        ("", "is empty"),
        (f"{REPLIES}/" + "x" * 300, "longer than 256 bytes"),
        (f"{REPLIES}/" + "é" * 120, "longer than 256 bytes"),  # 240 characters, 267 bytes
        (f"{REPLIES}/\ud800", "not valid UTF-8"),
        (f"{REPLIES}/a\x00b", "control characters"),
        (f"{REPLIES}/a\nb", "control characters"),
        (f"{REPLIES}/\ufeffx", "control characters"),
        # Somebody else's receipts, the service's own topics, anywhere else:
        ("x/punchgate/v1/replies/1002", "is not under x/punchgate/v1/replies/1001/"),
        ("x/punchgate/v1/replies/10010", "is not under"),
        ("x/punchgate/v1/replies/1001x/a", "is not under"),
        ("x/punchgate/v1/ack/1002", "is not under"),
        ("x/punchgate/v1/ack/1001", "is not under"),
        ("x/punchgate/v1/status/punchgate-collector", "is not under"),
        ("x/punchgate/v1/punch/1001", "is not under"),
        ("x/owntracks/user1001/phone/cmd", "is not under"),
        ("punchgate/v1/replies/1001", "is not under"),  # another root
        ("x/punchgate/v1/replies", "is not under"),
    ],
)
def test_a_response_topic_is_answered_only_inside_the_phones_own_replies(topic, refusal):
    got = T.reply_refusal(topic, "1001")
    if refusal is None:
        assert got is None
    else:
        assert got is not None and refusal in got


BASE = {"schema_version": 1, "id": "abc", "ts": 1795780800, "lat": 52.52, "lon": 13.405, "acc": 8}


def native(**kw):
    return json.dumps({**BASE, **kw}).encode()


def test_native_accepts_epoch_and_offset_times():
    assert parse_native(native(), employee_code="1").ts == datetime.fromtimestamp(1795780800, UTC)
    p = parse_native(native(ts="2026-11-27T13:00:00+01:00", bssid="AA:BB"), employee_code="1")
    assert p.ts == datetime(2026, 11, 27, 13, tzinfo=timezone(timedelta(hours=1)))
    assert p.bssid == "aa:bb" and p.kind == "auto" and p.mock is False


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{", "not JSON"),
        (b"7", "not an object"),
        (native(schema_version=2), "unknown schema_version 2"),
        (native(schema_version=True), "unknown schema_version True"),
        (
            json.dumps({k: v for k, v in BASE.items() if k != "schema_version"}).encode(),
            "missing schema_version",
        ),
        (native(lat="52.5"), "lat"),
        (native(lat=-91), "lat"),
        (native(lon=180.5), "lon"),
        (native(acc=-1), "acc"),
        (native(mock="yes"), "mock"),
        (native(ts="2026-11-27T13:00:00"), "ts has no UTC offset"),
        (native(ts="yesterday"), "not ISO 8601"),
        (native(ts=True), "ts"),
        (native(kind="lunch"), "kind"),
        (native(id=""), "id"),
        (native(employee_code="2"), "names employee '2'"),
        (native().replace(b"52.52", b"NaN"), "lat"),
        (native().replace(b"13.405", b"Infinity"), "lon"),
        (native(pad="x" * MAX_PAYLOAD_BYTES), "exceeds"),
        # Nested past orjson's limit, where the json fallback raised RecursionError.
        (b"[" * 20_000 + b"]" * 20_000, "not a JSON object within limits"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "not a JSON object within limits"),
        (native(device="DEEP").replace(b'"DEEP"', b"[" * 2000 + b"]" * 2000), "within limits"),
    ],
)
def test_native_bad_payloads_raise_with_reason(payload, reason):
    with pytest.raises(PayloadError) as info:
        parse_native(payload, employee_code="1")
    assert reason in info.value.reason


def test_native_rejection_names_the_message_id_when_readable():
    with pytest.raises(PayloadError) as info:
        parse_native(native(lat="x"), employee_code="1")
    assert info.value.ref_id == "abc"


def test_a_rejected_id_with_a_lone_surrogate_still_makes_a_receipt():
    # JSON lets a phone escape half a UTF-16 pair; the receipt naming that id is UTF-8.
    with pytest.raises(PayloadError) as info:
        parse_native(b'{"schema_version": 9, "id": "\\ud800-odd"}', employee_code="1")
    # ascii(): a report that held the surrogate itself could not be sent between workers.
    assert ascii(info.value.ref_id) == ascii("\ufffd-odd")
    body = receipt_json("rejected", info.value.ref_id, info.value.reason, None, None, [])
    assert json.loads(body)["id"] == "\ufffd-odd"


LOC = {
    "_type": "location",
    "lat": 52.52,
    "lon": 13.405,
    "tst": 1795780800,
    "acc": 12,
    "_id": "1a2b3c4d",
    "tid": "al",
    "BSSID": "AA:BB",
    "created_at": 1795780900,
}


def test_owntracks_location_and_transition():
    loc = parse_owntracks(json.dumps(LOC).encode(), topic="t")
    assert isinstance(loc, OwnTracksLocation)
    assert (loc.id_, loc.bssid, loc.acc, loc.created_at) == ("1a2b3c4d", "aa:bb", 12, 1795780900)
    assert loc.taken_at == datetime.fromtimestamp(1795780800, UTC)
    bare = parse_owntracks(b'{"_type":"location","lat":1,"lon":2,"tst":3}', topic="t")
    assert isinstance(bare, OwnTracksLocation) and bare.acc == 0  # zeros may be omitted
    tr = {
        "_type": "transition",
        "event": "leave",
        "desc": "Head office",
        "tst": 1795780800,
        "wtst": 1700000000,
        "lat": 52.52,
        "lon": 13.405,
        "acc": 20,
        "t": "c",
    }
    parsed = parse_owntracks(json.dumps(tr).encode(), topic="t")
    assert isinstance(parsed, OwnTracksTransition) and parsed.event == "leave"


@pytest.mark.parametrize(
    "body",
    [
        {"_type": "lwt", "tst": 1795780800},
        {"_type": "waypoint", "desc": "Home", "lat": 1, "lon": 2, "rad": 50, "tst": 1},
        {"_type": "waypoints", "waypoints": []},
        {"_type": "card", "name": "Al"},
        {"_type": "cmd", "action": "reportLocation"},
        {"_type": "status"},
    ],
)
def test_owntracks_other_types_are_ignored(body):
    assert parse_owntracks(json.dumps(body).encode(), topic="t") == Ignored(body["_type"])


def test_owntracks_empty_payload_is_a_cleared_retained_message():
    assert parse_owntracks(b"", topic="t") == Ignored("empty")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"lat": 1, "lon": 2, "tst": 3}, "no _type"),
        ({**LOC, "lat": 123}, "lat"),
        ({**LOC, "tst": "soon"}, "tst"),
        ({**LOC, "tst": True}, "tst"),
        ({"_type": "transition", "event": "stay", "lat": 1, "lon": 2, "tst": 3}, "event"),
        ({**LOC, "topic": "owntracks/bob/phone"}, "names topic"),
    ],
)
def test_owntracks_bad_payloads_raise(body, reason):
    with pytest.raises(PayloadError) as info:
        parse_owntracks(json.dumps(body).encode(), topic="owntracks/al/phone")
    assert reason in info.value.reason


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from(["accepted", "rejected", "duplicate"]),
    ident=st.none() | st.text(max_size=100),
    reason=st.none() | st.text(max_size=300),
    site=st.none() | st.text(max_size=64),
    distance=st.none() | st.floats(min_value=0, max_value=1e7).map(lambda d: round(d, 1)),
    flags=st.lists(st.sampled_from(["mock_location", "outside_fence", "late_delivery"])),
    refused=st.none() | st.text(max_size=100),
)
def test_receipt_json_is_the_receipt_models_json(
    status, ident, reason, site, distance, flags, refused
):
    # The consumer writes receipts with receipt_json; the contract is the Receipt model.
    model = Receipt(
        status=status,
        id=ident,
        reason=reason,
        site=site,
        distance_m=distance,
        flags=flags,
        response_topic_refused=refused,
    )
    assert receipt_json(status, ident, reason, site, distance, flags, refused) == (
        model.model_dump_json().encode()
    )


def test_owntracks_nested_past_the_decoders_limits_is_refused_with_a_reason():
    deep = b'{"_type": "location", "inregions": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    with pytest.raises(PayloadError) as info:
        parse_owntracks(deep, topic="owntracks/ann/phone")
    assert "not a JSON object within limits" in info.value.reason
