"""The `eventManager.cgi?action=attach` stream: multipart parts of `Code=…;action=…` text.

Each part is `--<boundary>`, headers (`Content-Type: text/plain`, `Content-Length: N`), a
blank line and a body: `Heartbeat`, or `Code=AccessControl;action=Pulse;index=0;data={…}`
with the event's JSON (which may span lines). Parsed incrementally from whatever chunks
the socket gives, within a bounded buffer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_PART = 256 * 1024  # an event's text; a picture is never part of this stream
HEARTBEAT = "Heartbeat"


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event from the stream."""

    code: str
    action: str
    index: int
    data: dict[str, Any] = field(default_factory=dict)


def parse_event(body: str) -> StreamEvent:
    """`Code=…;action=…;index=…;data={…}`; ValueError when it is not that."""
    head, _, data_text = body.partition(";data=")
    fields: dict[str, str] = {}
    for item in head.split(";"):
        key, sep, value = item.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    if "Code" not in fields:
        raise ValueError(f"event without Code: {body[:80]!r}")
    data: dict[str, Any] = {}
    if data_text.strip():
        loaded = json.loads(data_text)
        if not isinstance(loaded, dict):
            raise ValueError("event data is not an object")
        data = loaded
    try:
        index = int(fields.get("index", "0"))
    except ValueError:
        raise ValueError(f"bad index {fields.get('index')!r}") from None
    return StreamEvent(fields["Code"], fields.get("action", ""), index, data)


def event_part(body: str, boundary: str = "myboundary") -> bytes:
    """One part of the stream as the controller writes it."""
    data = body.encode()
    return (
        f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        + data
        + b"\r\n\r\n"
    )


class StreamParser:
    """Turns the stream's bytes into events (None for a heartbeat), part by part."""

    def __init__(self, content_type: str) -> None:
        boundary = "myboundary"
        for item in content_type.split(";"):
            key, _, value = item.strip().partition("=")
            if key.lower() == "boundary" and value:
                boundary = value.strip('"')
        self.marker = b"--" + boundary.lstrip("-").encode()
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[StreamEvent | None]:
        """The events completed by this chunk; ValueError on a garbled or oversized part."""
        self.buffer += chunk
        while True:
            body = self._next_body()
            if body is None:
                if len(self.buffer) > MAX_PART + 1024:
                    raise ValueError("part larger than the limit")
                return
            text = body.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            yield None if text == HEARTBEAT else parse_event(text)

    def _next_body(self) -> bytes | None:
        start = self.buffer.find(self.marker)
        if start < 0:
            return None
        head_end = self.buffer.find(b"\r\n\r\n", start)
        if head_end < 0:
            return None
        headers = bytes(self.buffer[start + len(self.marker) : head_end]).decode("latin-1")
        length = None
        for line in headers.split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise ValueError(f"bad Content-Length {value.strip()!r}") from None
        body_start = head_end + 4
        if length is not None:
            if length > MAX_PART:
                raise ValueError("part larger than the limit")
            if len(self.buffer) < body_start + length:
                return None
            body = bytes(self.buffer[body_start : body_start + length])
            del self.buffer[: body_start + length]
            return body
        following = self.buffer.find(self.marker, body_start)
        if following < 0:
            return None
        body = bytes(self.buffer[body_start:following])
        del self.buffer[:following]
        return body
