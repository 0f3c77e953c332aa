"""The emulated terminal's "HTTP listening": it posts each new event to its `httpHosts`.

Like the firmware, it posts one notification per event, as JSON or as multipart (the JSON
part `AccessControllerEvent` and a JPEG part), in order, and retries a post that got no
200 until it does (the terminal keeps its events), so a receiver that answers only after
its commit loses nothing. One background thread per terminal; `close` stops it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import httpx

from devices.hikvision.notify import notification_body

NS = "http://www.hikvision.com/ver20/XMLSchema"
FAKE_JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16 + b"\xff\xd9"
BOUNDARY = "MIME_boundary"


@dataclass(frozen=True, slots=True)
class HttpHost:
    """One `HttpHostNotification`: where the terminal posts."""

    ip: str
    port: int
    url: str  # the path (and query) on that host
    format: str = "JSON"

    @property
    def address(self) -> str:
        """The full URL posted to."""
        return f"http://{self.ip}:{self.port}{self.url}"


def hosts_xml(hosts: list[HttpHost]) -> str:
    """`GET /ISAPI/Event/notification/httpHosts`."""
    items = "".join(
        f"<HttpHostNotification><id>{i}</id><url>{h.url}</url><protocolType>HTTP"
        f"</protocolType><parameterFormatType>{h.format}</parameterFormatType>"
        "<addressingFormatType>ipaddress</addressingFormatType>"
        f"<ipAddress>{h.ip}</ipAddress><portNo>{h.port}</portNo>"
        "<httpAuthenticationMethod>none</httpAuthenticationMethod></HttpHostNotification>"
        for i, h in enumerate(hosts, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<HttpHostNotificationList version="2.0" xmlns="{NS}">{items}</HttpHostNotificationList>'
    )


def parse_hosts(body: bytes) -> list[HttpHost]:
    """The hosts of a `PUT …/httpHosts` body (ValueError if it is not one)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    out: list[HttpHost] = []
    for item in root.iter():
        if item.tag.rsplit("}", 1)[-1] != "HttpHostNotification":
            continue
        fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in item}
        out.append(
            HttpHost(
                ip=fields.get("ipAddress") or fields.get("hostName", ""),
                port=int(fields.get("portNo") or 80),
                url=fields.get("url") or "/",
                format=fields.get("parameterFormatType") or "JSON",
            )
        )
    return out


def encode(event: dict[str, Any], *, multipart: bool) -> tuple[bytes, str]:
    """A notification body and its content type, as the terminal sends it."""
    payload = json.dumps(notification_body(event)).encode()
    if not multipart:
        return payload, "application/json"
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="AccessControllerEvent"\r\n'
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    picture = (
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="Picture"; '
        f'filename="Picture.jpg"\r\nContent-Type: image/jpeg\r\n'
        f"Content-Length: {len(FAKE_JPEG)}\r\n\r\n"
    ).encode()
    body = head + payload + picture + FAKE_JPEG + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


class Pusher:
    """Posts queued events to the hosts in order, retrying each until it gets a 200."""

    def __init__(self, *, multipart: bool = False, retry_s: float = 0.2) -> None:
        self.multipart = multipart
        self.retry_s = retry_s
        self.delivered = 0
        self.failed_posts = 0
        self._queue: queue.Queue[tuple[HttpHost, dict[str, Any]] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hik-pusher", daemon=True)
        self._thread.start()

    def post(self, host: HttpHost, event: dict[str, Any]) -> None:
        """Queue one event for `host`."""
        self._queue.put((host, event))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued was delivered (False on timeout)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        """Stop posting (what is still queued is dropped, as on power loss)."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                item = self._queue.get()
                if item is None:
                    self._queue.task_done()
                    return
                host, event = item
                body, kind = encode(event, multipart=self.multipart)
                while not self._stop.is_set():
                    try:
                        reply = http.post(
                            host.address, content=body, headers={"Content-Type": kind}
                        )
                        if reply.status_code == 200:
                            self.delivered += 1
                            break
                    except httpx.HTTPError:
                        pass
                    self.failed_posts += 1
                    self._stop.wait(self.retry_s)
                self._queue.task_done()
