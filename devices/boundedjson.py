"""JSON read within limits: size and nesting depth are checked before anything is decoded.

orjson stops at 1024 levels and Python's `json` recurses until `RecursionError`, so a
hostile 20,000-deep payload reached the caller as an internal error. Here the depth is
measured first by one C-speed regex pass over the brackets outside strings (skipped when
the payload has too few brackets to be that deep), so every decoder sees only shallow input.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 32  # no payload a device or phone sends nests deeper than a few levels
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")


class JSONLimitError(ValueError):
    """Input outside the limits; the message says which."""


class JSONTooLarge(JSONLimitError):
    """More bytes than allowed."""


class JSONTooDeep(JSONLimitError):
    """Arrays and objects nested deeper than allowed."""


def nesting_depth(data: bytes, *, stop_after: int) -> int:
    """How deep arrays and objects nest in `data` (strings skipped), up to `stop_after` + 1."""
    if data.count(b"[") + data.count(b"{") <= stop_after:
        return 0  # too few brackets to pass the limit, whatever their order
    depth = deepest = 0
    for found in _TOKENS.finditer(data):
        first = found.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        elif first != 0x22:  # a closing bracket, not a string
            depth -= 1
    return deepest


def loads_bounded(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON no larger than `max_bytes` nor deeper than `max_depth`.

    Raises JSONTooLarge or JSONTooDeep (both JSONLimitError) for input outside the limits,
    and ValueError (UnicodeDecodeError included) for input that is not JSON.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise JSONTooLarge(f"{len(raw)} bytes exceeds {max_bytes} bytes")
    if nesting_depth(raw, stop_after=max_depth) > max_depth:
        raise JSONTooDeep(f"nested deeper than {max_depth} levels")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses what Python's json reads (NaN, Infinity, integers over 64 bits):
        # read those the old way, so callers can refuse them by their field checks.
        return json.loads(raw)
