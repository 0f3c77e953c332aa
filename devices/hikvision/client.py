"""The ISAPI client: HTTP Digest, device info, clock and the paged AcsEvent search.

httpx carries HTTP and Digest auth. Its exceptions, HTTP error statuses and ISAPI's
`ResponseStatus` bodies are turned into `devices.errors` at one boundary (`_request`):

httpx.TimeoutException            → DeviceTimeout
httpx.TransportError (connect…)   → DeviceUnreachable (also a link dropped before the reply)
httpx.RemoteProtocolError         → DeviceProtocolError (a reply that is not HTTP)
401 after the Digest exchange     → DeviceAuthError
ISAPI error status (403, 400…)    → DeviceRefused (with subStatusCode, e.g. notSupport)
unreadable body                   → DeviceProtocolError
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import httpx

from devices.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
)
from devices.hikvision.events import AcsPage, WireError, parse_page, parse_time, search_condition
from devices.httpclient import HTTPClient, HTTPTarget, digest_http, transport_errors
from devices.types import DeviceInfo

SEARCH_PATH = "/ISAPI/AccessControl/AcsEvent?format=json"
INFO_PATH = "/ISAPI/System/deviceInfo"
TIME_PATH = "/ISAPI/System/time"
HOSTS_PATH = "/ISAPI/Event/notification/httpHosts"
XMLNS = "http://www.hikvision.com/ver20/XMLSchema"
PAGE_SIZE = 30  # what DS-K1T firmwares cap maxResults at


@dataclass(frozen=True, slots=True, repr=False)
class ISAPITarget(HTTPTarget):
    """Where a terminal is and how to log in (the password kept out of repr)."""

    page_size: int = PAGE_SIZE


class ISAPIClient(HTTPClient):
    """One terminal's ISAPI over a kept-alive connection; use as a context manager."""

    def __init__(self, target: ISAPITarget, *, transport: httpx.BaseTransport | None = None):
        super().__init__(digest_http(target, transport))
        self.target = target

    def device_info(self) -> DeviceInfo:
        """Serial, model and firmware from `/ISAPI/System/deviceInfo`."""
        root = self._xml(self._request("GET", INFO_PATH))
        fw = _text(root, "firmwareVersion")
        build = _text(root, "firmwareReleasedDate")
        return DeviceInfo(
            serial=_text(root, "serialNumber"),
            platform=_text(root, "model"),
            firmware=f"{fw} {build}" if fw and build else fw,
            device_name=_text(root, "deviceName"),
            mac=_text(root, "macAddress"),
        )

    def clock(self) -> datetime:
        """The terminal's clock, aware with the terminal's offset (`/ISAPI/System/time`)."""
        root = self._xml(self._request("GET", TIME_PATH))
        try:
            clock = parse_time(_text(root, "localTime"))
        except ValueError as exc:
            raise DeviceProtocolError(f"unreadable clock: {exc}") from None
        if clock.tzinfo is None:
            raise DeviceProtocolError("the clock has no offset")
        return clock

    def search(
        self, start: datetime, end: datetime, *, begin_serial: int | None = None
    ) -> Iterator[AcsPage]:
        """The major-5 events of a window, page by page, until the terminal says no more.

        One searchID for the whole search; the position advances by what each page held.
        """
        search_id = uuid.uuid4().hex
        position = 0
        size = self.target.page_size
        while True:
            cond = search_condition(
                search_id, position, size, start, end, begin_serial=begin_serial
            )
            page = self._page(cond)
            yield page
            held = len(page.events) + len(page.bad)
            if not page.more:
                return
            if held == 0:
                raise DeviceProtocolError("event search said MORE but sent no events")
            position += held

    def http_hosts(self) -> list[str]:
        """The URLs the terminal posts its events to (`/ISAPI/Event/notification/httpHosts`)."""
        root = self._xml(self._request("GET", HOSTS_PATH))
        urls = []
        for item in root:
            ip, port, path = (_text(item, k) for k in ("ipAddress", "portNo", "url"))
            host = ip or _text(item, "hostName")
            if host:
                urls.append(f"http://{host}:{port or 80}{path or '/'}")
        return urls

    def set_http_host(self, url: str) -> None:
        """Make `url` (http://ip:port/path) the one host the terminal posts its events to."""
        parts = httpx.URL(url)
        path = parts.raw_path.decode()
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><HttpHostNotificationList version="2.0" '
            f'xmlns="{XMLNS}"><HttpHostNotification><id>1</id><url>{escape(path)}</url>'
            "<protocolType>HTTP</protocolType><parameterFormatType>JSON</parameterFormatType>"
            f"<addressingFormatType>ipaddress</addressingFormatType><ipAddress>{parts.host}"
            f"</ipAddress><portNo>{parts.port or 80}</portNo>"
            "<httpAuthenticationMethod>none</httpAuthenticationMethod>"
            "</HttpHostNotification></HttpHostNotificationList>"
        )
        self._request("PUT", HOSTS_PATH, content=body.encode())

    def newest_serial(self, start: datetime, end: datetime) -> int | None:
        """The serial of the newest event in a window (one event, newest first), or None."""
        cond = search_condition(uuid.uuid4().hex, 0, 1, start, end)
        cond["AcsEventCond"]["timeReverseOrder"] = True
        page = self._page(cond)
        return page.events[0].serial if page.events else None

    def _page(self, cond: dict[str, Any]) -> AcsPage:
        body = self._json(self._request("POST", SEARCH_PATH, json=cond))
        try:
            return parse_page(body)
        except WireError as exc:
            raise DeviceProtocolError(f"unreadable event search reply: {exc}") from None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with transport_errors("the device"):
            response = self._http.request(method, path, **kwargs)
        if response.status_code == 401:
            raise DeviceAuthError("user name or password refused (HTTP Digest)")
        if response.status_code >= 400:
            raise DeviceRefused(_isapi_error(response))
        return response

    @staticmethod
    def _xml(response: httpx.Response) -> ET.Element:
        try:
            return ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise DeviceProtocolError(f"reply is not XML: {exc}") from None


def _text(root: ET.Element, name: str) -> str | None:
    """A child's text whatever its namespace (ISAPI replies use the ver20 schema's)."""
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == name:
            return (child.text or "").strip() or None
    return None


def _isapi_error(response: httpx.Response) -> str:
    """An ISAPI error reply (JSON or XML ResponseStatus) as one line for the operator."""
    detail: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = body
    except ValueError:
        try:
            root = ET.fromstring(response.content)
            detail = {k: _text(root, k) for k in ("statusString", "subStatusCode")}
        except ET.ParseError:
            pass
    sub = detail.get("subStatusCode") or ""
    words = detail.get("statusString") or response.reason_phrase
    hint = " (a push-only model: configure it to push)" if sub == "notSupport" else ""
    return f"HTTP {response.status_code}: {words} {sub}".strip() + hint
