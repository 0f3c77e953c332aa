"""JSON read within limits: depth and size are refused with a reason before decoding."""

from __future__ import annotations

import pytest

from devices.boundedjson import MAX_DEPTH, JSONTooDeep, JSONTooLarge, loads_bounded, nesting_depth


def nested(depth: int, opener: str = "[") -> bytes:
    if opener == "[":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("opener", ["[", "{"])
def test_the_deepest_allowed_document_decodes_and_one_level_more_is_refused(opener):
    assert loads_bounded(nested(MAX_DEPTH, opener), max_bytes=10_000) is not None
    with pytest.raises(JSONTooDeep, match="nested deeper than"):
        loads_bounded(nested(MAX_DEPTH + 1, opener), max_bytes=10_000)


@pytest.mark.parametrize("depth", [1023, 1025, 20_000])
def test_input_past_every_decoders_own_limit_is_refused_by_depth_not_by_recursion(depth):
    # 1024 is orjson's limit; 20,000 made the json fallback raise RecursionError.
    for opener in "[{":
        with pytest.raises(JSONTooDeep):
            loads_bounded(nested(depth, opener), max_bytes=10**6)


def test_brackets_inside_strings_do_not_count():
    text = b'{"a": "' + b"[{" * 500 + b'\\"[[[", "b": ["]]]]"]}'
    assert nesting_depth(text, stop_after=MAX_DEPTH) == 2
    assert loads_bounded(text, max_bytes=10_000)["b"] == ["]]]]"]


def test_size_is_checked_before_decoding():
    with pytest.raises(JSONTooLarge, match="exceeds 100 bytes"):
        loads_bounded(b"[" + b"1," * 100 + b"1]", max_bytes=100)


def test_what_is_not_json_is_a_value_error():
    for bad in (b"{", b"\xff\xfe", "[1,]"):
        with pytest.raises(ValueError):
            loads_bounded(bad, max_bytes=100)
