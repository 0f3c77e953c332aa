"""What every phone payload shares: the size limit, JSON decoding and the one error type."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from devices.boundedjson import JSONTooDeep, JSONTooLarge, loads_bounded

MAX_PAYLOAD_BYTES = 64 * 1024
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class PayloadError(ValueError):
    """A payload that cannot become a punch; the message is the quarantine reason.

    `ref_id` is the phone's own id for the message when it could be read, so a rejected
    receipt can name what it rejects.
    """

    def __init__(self, reason: str, *, ref_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ref_id = ref_id


def load_object(payload: bytes) -> dict[str, Any]:
    """Decode a payload into a JSON object, or raise PayloadError saying why not."""
    try:
        data = loads_bounded(payload, max_bytes=MAX_PAYLOAD_BYTES)
    except JSONTooLarge as exc:
        raise PayloadError(f"payload of {exc}") from exc
    except JSONTooDeep as exc:
        raise PayloadError(f"payload is not a JSON object within limits: {exc}") from exc
    except ValueError as exc:  # UnicodeDecodeError is one
        raise PayloadError(f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadError(f"payload is a JSON {type(data).__name__}, not an object")
    return data


def validation_reason(exc: ValidationError) -> str:
    """A short reason from pydantic's errors: the fields and what is wrong with them."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "invalid payload: " + "; ".join(parts)


def ref_of(data: dict[str, Any], key: str) -> str | None:
    """The message's own id as text when it has a usable one."""
    value = data.get(key)
    if isinstance(value, str | int) and not isinstance(value, bool):
        # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 receipt can carry.
        return LONE_SURROGATE.sub("\ufffd", str(value)[:100])
    return None
