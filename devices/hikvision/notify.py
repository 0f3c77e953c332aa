"""The terminal's HTTP event notification (ISAPI "HTTP listening", `httpHosts`).

The terminal POSTs each event to the configured URL as plain JSON or as
`multipart/form-data`: a JSON part (named `event_log` or `AccessControllerEvent`) and
often a JPEG part. Only the JSON is read; pictures are dropped unread. The JSON is
`{"ipAddress", "dateTime", "eventType": "AccessControllerEvent", "AccessControllerEvent":
{"majorEventType", "subEventType", "employeeNoString", "serialNo", "frontSerialNo",
"currentVerifyMode", "attendanceStatus", …}}`; `eventType` "heartBeat" carries no event.
Multipart bodies are split with the standard library's MIME parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from devices.boundedjson import JSONLimitError, loads_bounded
from devices.hikvision.events import AcsEvent, parse_event

EVENT_TYPE = "AccessControllerEvent"


class NotificationError(ValueError):
    """A body that is not an event notification (the message is the quarantine reason)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One posted notification: its access-control event, or None for a heartbeat/other."""

    event_type: str
    event: AcsEvent | None
    raw: dict[str, Any]


def json_part(body: bytes, content_type: str) -> bytes:
    """The JSON of a notification body, plain or the JSON part of a multipart one."""
    if not content_type.lower().startswith("multipart/"):
        return body
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    for part in message.iter_parts():
        kind = part.get_content_type()
        name = part.get_param("name", header="content-disposition") or ""
        if kind == "application/json" or name in ("event_log", EVENT_TYPE):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise NotificationError("multipart body without a JSON part")


def parse_notification(body: bytes, content_type: str) -> Notification:
    """A posted notification; NotificationError when it cannot be one."""
    try:
        # The body is already capped by size; bounded parsing keeps deep nesting harmless too.
        data = loads_bounded(json_part(body, content_type), max_bytes=len(body) + 1)
    except JSONLimitError as exc:
        raise NotificationError(f"notification is not a JSON object within limits: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotificationError(f"notification is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise NotificationError("notification is not a JSON object")
    event_type = str(data.get("eventType", ""))
    acs = data.get(EVENT_TYPE)
    if event_type != EVENT_TYPE or not isinstance(acs, dict):
        return Notification(event_type or "unknown", None, data)
    item = {
        **acs,
        "major": acs.get("majorEventType"),
        "minor": acs.get("subEventType"),
        "time": data.get("dateTime"),
    }
    try:
        return Notification(event_type, parse_event(item), data)
    except ValueError as exc:
        raise NotificationError(f"unreadable event: {exc}") from None


def notification_body(event: dict[str, Any], *, ip: str = "127.0.0.1") -> dict[str, Any]:
    """What a terminal posts for one InfoList-shaped event (for the emulator and tests)."""
    acs = {k: v for k, v in event.items() if k not in ("major", "minor", "time")}
    acs.update(
        {
            "deviceName": "Access Controller",
            "majorEventType": event["major"],
            "subEventType": event["minor"],
            "frontSerialNo": max(0, int(event["serialNo"]) - 1),
        }
    )
    return {
        "ipAddress": ip,
        "portNo": 80,
        "protocol": "HTTP",
        "macAddress": "bc:5e:33:00:12:34",
        "channelID": 1,
        "dateTime": event["time"],
        "activePostCount": 1,
        "eventType": EVENT_TYPE,
        "eventState": "active",
        "eventDescription": "Access Controller Event",
        EVENT_TYPE: acs,
    }
