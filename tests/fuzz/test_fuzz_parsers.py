"""Every parser fed arbitrary input: only our own errors come out, and what parses is sound."""

from __future__ import annotations

import copy
import json
import string
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.boundedjson import MAX_DEPTH
from devices.mobile.native import parse_native
from devices.mobile.owntracks import Ignored, parse_owntracks
from devices.mobile.wire import MAX_PAYLOAD_BYTES, PayloadError
from devices.types import BadRecord, DevicePunch
from devices.zk.push.records import (
    MAX_LINE_CHARS,
    AttLine,
    parse_attlog,
    parse_command_results,
    parse_operlog,
)
from devices.zk.records import parse_attendance, parse_users
from rules.schema import PolicyError, parse_document
from tests.rules.helpers import FIXED_DOC, FLEX_DOC, NIGHT_DOC

FUZZ = settings(max_examples=150, deadline=None)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

# Depth and size at and past each limit: ours, orjson's (1024) and Python's recursion.
depths = st.one_of(
    st.sampled_from([MAX_DEPTH, MAX_DEPTH + 1, 1023, 1025, 20_000]), st.integers(0, 3000)
)


def _nest(depth: int, opener: str, inner: str = "1") -> str:
    if opener == "[":
        return "[" * depth + inner + "]" * depth
    return '{"a":' * depth + inner + "}" * depth


deep_json_text = st.builds(_nest, depths, st.sampled_from(["[", "{"]))
deep_json = deep_json_text.map(str.encode)


def _deep_value(depth: int) -> object:
    value: object = 1
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


deep_values = depths.map(_deep_value)  # deep documents already decoded (TOML, an API body)
sizes = st.sampled_from(
    [MAX_PAYLOAD_BYTES - 1, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES + 1, 4 * MAX_PAYLOAD_BYTES]
)


def _padded(size: int) -> bytes:
    head = b'{"schema_version": 1, "id": "x", "pad": "'
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


sized_payloads = sizes.map(_padded)


def _sound(punch: DevicePunch) -> None:
    assert isinstance(punch.user_id, str) and punch.user_id
    assert isinstance(punch.timestamp, datetime)


@FUZZ
@given(data=st.binary(max_size=400), size=st.sampled_from([8, 16, 40]), first=st.integers(0, 10**6))
def test_zk_attendance_records_parse_or_come_back_bad(data, size, first):
    items = parse_attendance(data, size, first_position=first, users_by_uid={1: "1001"})
    for item in items:
        assert isinstance(item, DevicePunch | BadRecord)
        if isinstance(item, DevicePunch):
            _sound(item)
        else:
            assert item.reason
    # Every byte is accounted for: whole records plus at most one truncated tail.
    assert len(items) == len(data) // size + (1 if len(data) % size else 0)


@FUZZ
@given(
    data=st.binary(max_size=300),
    size=st.sampled_from([28, 72]),
    enc=st.sampled_from(["utf-8", "gbk", "latin-1"]),
)
def test_zk_user_records_never_raise(data, size, enc):
    users = parse_users(data, size, encoding=enc)
    assert len(users) == len(data) // size
    assert all(isinstance(u.name, str) and isinstance(u.user_id, str) for u in users)


push_line = st.one_of(
    st.text(max_size=80),
    st.lists(
        st.one_of(
            st.text(alphabet=string.digits, max_size=12),
            st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
                lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
            ),
            st.text(max_size=15),
            st.sampled_from(["", "0", "-1", "255", "99999999999999999999", "2026-02-30 25:61:61"]),
        ),
        max_size=8,
    ).map("\t".join),
    st.text(alphabet="=&\t ,:", max_size=20).map(lambda t: "USER PIN=1\tName=" + t),
    st.text(max_size=40).map(lambda t: "ID=1&Return=" + t + "&CMD=DATA"),
    deep_json_text,
    st.sampled_from([MAX_LINE_CHARS - 1, MAX_LINE_CHARS, MAX_LINE_CHARS + 1, 50_000]).map(
        lambda n: "1001\t2026-03-02 09:00:00\t" + "x" * n
    ),
)
push_body = st.lists(push_line, max_size=12).map("\n".join)


@FUZZ
@given(body=push_body)
def test_push_bodies_parse_line_by_line(body):
    for item in parse_attlog(body):
        if isinstance(item, AttLine):
            _sound(item.punch)
            assert item.line >= 1
        else:
            assert isinstance(item, BadRecord) and item.reason
    parse_operlog(body)
    parse_command_results(body)


def _payload(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


native_object = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.one_of(st.just(1), json_scalars),
        "id": st.one_of(
            st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20),
            json_scalars,
        ),
        "ts": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
            st.floats(-1e12, 1e12),
            json_scalars,
        ),
        "lat": st.one_of(st.floats(-100, 100), json_scalars),
        "lon": st.one_of(st.floats(-200, 200), json_scalars),
        "acc": st.one_of(st.floats(-10, 1e5), json_scalars),
        "kind": st.one_of(st.sampled_from(["in", "out", "auto"]), json_scalars),
        "mock": json_scalars,
        "bssid": json_scalars,
        "device": json_values,
        "employee_code": json_scalars,
    },
)


def _wrapped(deep: bytes) -> bytes:
    return b'{"schema_version": 1, "_type": "location", "device": ' + deep + b"}"


hostile_payloads = st.one_of(deep_json, deep_json.map(_wrapped), sized_payloads)


@FUZZ
@given(
    body=st.one_of(
        native_object.map(_payload),
        st.binary(max_size=200),
        json_values.map(_payload),
        hostile_payloads,
    )
)
def test_native_payloads_parse_or_raise_payload_error(body):
    try:
        punch = parse_native(body, employee_code="1001")
    except PayloadError as exc:
        assert exc.reason
        return
    assert -90 <= punch.lat <= 90 and -180 <= punch.lon <= 180 and punch.acc >= 0
    assert punch.ts.tzinfo is not None


owntracks_object = st.fixed_dictionaries(
    {"_type": st.sampled_from(["location", "transition", "waypoint", "lwt", "cmd"])},
    optional={
        "lat": st.one_of(st.floats(-100, 100), json_scalars),
        "lon": st.one_of(st.floats(-200, 200), json_scalars),
        "tst": st.one_of(st.integers(-(2**40), 2**40), json_scalars),
        "acc": json_scalars,
        "created_at": json_scalars,
        "_id": json_scalars,
        "event": st.one_of(st.sampled_from(["enter", "leave"]), json_scalars),
        "desc": json_scalars,
        "inregions": json_values,
        "topic": json_scalars,
        "BSSID": json_scalars,
    },
)


@FUZZ
@given(
    body=st.one_of(
        owntracks_object.map(_payload),
        st.binary(max_size=200),
        json_values.map(_payload),
        hostile_payloads,
    )
)
def test_owntracks_payloads_parse_ignore_or_raise_payload_error(body):
    try:
        message = parse_owntracks(body, topic="owntracks/ann/phone")
    except PayloadError as exc:
        assert exc.reason
        return
    if not isinstance(message, Ignored):
        assert -90 <= message.lat <= 90 and -180 <= message.lon <= 180


def test_oversized_payloads_are_refused_before_parsing():
    big = json.dumps({"schema_version": 1, "pad": "x" * MAX_PAYLOAD_BYTES}).encode()
    for parse in (
        lambda: parse_native(big, employee_code="1"),
        lambda: parse_owntracks(big, topic="owntracks/a/b"),
    ):
        try:
            parse()
        except PayloadError as exc:
            assert "exceeds" in exc.reason
        else:
            raise AssertionError("a payload over the limit was parsed")


clock = st.one_of(
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 25), st.integers(0, 61)),
    st.sampled_from(["24:00", "8", "", "noon", "07:60"]),
    json_scalars,
)
span = st.fixed_dictionaries({"start": clock, "end": clock})
minutes = st.one_of(st.integers(-5, 900), json_scalars)
policy_doc = st.fixed_dictionaries(
    {},
    optional={
        "shift": st.one_of(
            st.fixed_dictionaries(
                {"start": clock, "end": clock},
                optional={"grace_late_min": minutes, "checkout_after_min": minutes},
            ),
            json_values,
        ),
        "flex": st.one_of(
            st.fixed_dictionaries(
                {
                    "earliest_start": clock,
                    "latest_start": clock,
                    "earliest_end": clock,
                    "latest_end": clock,
                },
                optional={
                    "core": st.one_of(st.lists(span, max_size=2), json_values),
                    "day_boundary": clock,
                },
            ),
            json_values,
        ),
        "target_min": st.one_of(
            minutes, st.dictionaries(st.sampled_from(["mon", "fri", "x"]), minutes, max_size=2)
        ),
        "breaks": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "deductions": st.lists(
                        st.fixed_dictionaries({"after_min": minutes, "break_min": minutes}),
                        max_size=3,
                    ),
                    "max_daily_min": minutes,
                },
            ),
            json_values,
        ),
        "thresholds": json_values,
        "calendar": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "rest_days": st.lists(
                        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun", "xyz"]),
                        max_size=8,
                    )
                },
            ),
            json_values,
        ),
        "pairing": json_values,
        "balance": json_values,
    },
)
SEEDS = [("fixed", FIXED_DOC), ("fixed", NIGHT_DOC), ("flexitime", FLEX_DOC)]


def _mutate(seed: tuple[str, dict[str, Any]], path: tuple[str, ...], value: object, drop: bool):
    kind, doc = seed
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        if drop:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return kind, doc


paths = st.sampled_from(
    [
        ("shift", "start"),
        ("shift", "end"),
        ("shift", "grace_late_min"),
        ("flex", "latest_start"),
        ("flex", "core"),
        ("flex", "day_boundary"),
        ("target_min",),
        ("breaks", "deductions"),
        ("calendar", "rest_days"),
        ("overtime",),
        ("pairing",),
        ("kind",),
    ]
)
mutated = st.one_of(
    st.sampled_from(SEEDS),
    st.builds(
        _mutate,
        st.sampled_from(SEEDS),
        paths,
        st.one_of(clock, minutes, json_values, deep_values),
        st.booleans(),
    ),
)
valid_seen: list[str] = []


@FUZZ
@given(case=mutated)
def test_mutated_real_policies_validate_or_raise_policy_error(case):
    kind, doc = case
    try:
        parsed = parse_document(kind, doc)
    except PolicyError as exc:
        assert str(exc)
        return
    assert parsed.kind.value == kind
    valid_seen.append(kind)


@FUZZ
@given(
    kind=st.sampled_from(["fixed", "flexitime", "nonsense"]),
    doc=st.one_of(
        policy_doc,
        st.dictionaries(st.text(max_size=8), st.one_of(json_values, deep_values), max_size=5),
    ),
)
def test_policy_documents_validate_or_raise_policy_error(kind, doc):
    try:
        parsed = parse_document(kind, doc)
    except PolicyError as exc:
        assert str(exc)
        return
    assert parsed.kind.value == kind


def test_the_policy_fuzzer_reaches_valid_documents():
    # Runs after the fuzz test in this module: some generated documents were accepted, so
    # the property above also checked accepted documents, not only rejections.
    test_mutated_real_policies_validate_or_raise_policy_error()
    assert valid_seen


def test_owntracks_infinite_timestamp_is_a_payload_error():
    # Found by the fuzzer: 1e999 decodes to infinity and int() of it raised OverflowError.
    body = b'{"_type":"location","lat":52.5,"lon":13.4,"tst":1e999}'
    try:
        parse_owntracks(body, topic="owntracks/ann/phone")
    except PayloadError as exc:
        assert "tst" in exc.reason
    else:
        raise AssertionError("an infinite timestamp was accepted")
