"""The Dahua CGI client: HTTP Digest, device info, clock, the record search and the event stream.

httpx carries HTTP and Digest auth. Its exceptions, HTTP error statuses and the CGI's
`Error` bodies are turned into `devices.errors` at one boundary (`_request`, `attach`):

httpx.TimeoutException            → DeviceTimeout
httpx.TransportError (connect…)   → DeviceUnreachable (also a link dropped before the reply)
httpx.RemoteProtocolError         → DeviceProtocolError (a reply that is not HTTP)
401 after the Digest exchange     → DeviceAuthError
400, 404, 501 (`Error` body)      → DeviceRefused (the firmware lacks the call or its arguments)
unreadable body                   → DeviceProtocolError

The record search has no page position: each page asks again from the newest `CreateTime`
read so far (StartTime is inclusive), with `count` capping the page; the caller drops what
it already holds by `RecNo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from devices.dahua.records import RecordPage, WireError, parse_page, parse_table
from devices.dahua.stream import StreamEvent, StreamParser
from devices.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceUnreachable,
)
from devices.httpclient import HTTPClient, HTTPTarget, digest_http, transport_errors
from devices.types import DeviceInfo

FIND_PATH = "/cgi-bin/recordFinder.cgi"
ATTACH_PATH = "/cgi-bin/eventManager.cgi"
INFO_PATH = "/cgi-bin/magicBox.cgi"
TIME_PATH = "/cgi-bin/global.cgi"
RECORD_NAME = "AccessControlCardRec"
PAGE_SIZE = 500  # records asked per page; controllers cap `count` (often at 1024)


@dataclass(frozen=True, slots=True, repr=False)
class DahuaTarget(HTTPTarget):
    """Where a controller is and how to log in (the password kept out of repr)."""

    page_size: int = PAGE_SIZE
    local_times: bool = False  # CreateTime is the controller's wall clock (older firmwares)


class DahuaClient(HTTPClient):
    """One controller's CGI API over a kept-alive connection; use as a context manager."""

    def __init__(self, target: DahuaTarget, *, transport: httpx.BaseTransport | None = None):
        super().__init__(digest_http(target, transport))
        self.target = target

    def device_info(self) -> DeviceInfo:
        """Serial, type and firmware from `magicBox.cgi` (getSystemInfo, getSoftwareVersion)."""
        system = self._table(self._request(INFO_PATH, {"action": "getSystemInfo"}))
        software = self._table(self._request(INFO_PATH, {"action": "getSoftwareVersion"}))
        return DeviceInfo(
            serial=system.get("serialNumber") or None,
            platform=system.get("deviceType") or None,
            firmware=software.get("version") or None,
            extra={k: v for k, v in system.items() if k in ("hardwareVersion", "processor")},
        )

    def clock(self) -> datetime:
        """The controller's wall clock, naive (`global.cgi?action=getCurrentTime`)."""
        table = self._table(self._request(TIME_PATH, {"action": "getCurrentTime"}))
        try:
            # The wall clock, naive on purpose: the caller knows the controller's zone.
            return datetime.strptime(table.get("result", ""), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
        except ValueError:
            raise DeviceProtocolError(f"unreadable clock: {table.get('result')!r}") from None

    def find(self, start: int, end: int, count: int | None = None) -> RecordPage:
        """One recordFinder reply: records with StartTime ≤ CreateTime ≤ EndTime, oldest first."""
        params = {
            "action": "find",
            "name": RECORD_NAME,
            "StartTime": str(start),
            "EndTime": str(end),
            "count": str(count or self.target.page_size),
        }
        text = self._request(FIND_PATH, params).text
        try:
            return parse_page(text, local_times=self.target.local_times)
        except WireError as exc:
            raise DeviceProtocolError(f"unreadable record search reply: {exc}") from None

    def pages(self, start: int, end: int) -> Iterator[RecordPage]:
        """Every record from `start` to `end`, page by page, each asked from the newest time read.

        A page always repeats the records of its first second; a second holding a whole
        page's worth of records would never end, so that is a protocol error.
        """
        size = self.target.page_size
        while True:
            page = self.find(start, end, size)
            yield page
            held = len(page.records) + len(page.bad)
            if held < size:
                return
            newest = max((r.create_time for r in page.records), default=start)
            if newest <= start:
                raise DeviceProtocolError(
                    f"more than {size} records at one second ({start}): raise page_size"
                )
            start = newest

    @contextmanager
    def attach(
        self, codes: str = "[AccessControl]", heartbeat: int = 5
    ) -> Iterator[Callable[[], Iterator[StreamEvent | None]]]:
        """The live event stream (`eventManager.cgi?action=attach`), as an iterator factory.

        Yields None for each heartbeat, so a reader notices a silent link within one. The
        read timeout is a few heartbeats: a controller that stops sending is a timeout.
        """
        # The brackets go unescaped, as the API documents them and other clients send them.
        url = f"{ATTACH_PATH}?action=attach&codes={codes}&heartbeat={int(heartbeat)}"
        timeout = httpx.Timeout(self.target.timeout, read=max(3.0 * heartbeat, 1.0))
        with (
            self._errors(),
            self._http.stream("GET", url, timeout=timeout) as reply,
        ):
            self._check(reply, read=True)
            kind = reply.headers.get("content-type", "")
            if "multipart" not in kind:
                raise DeviceProtocolError(f"event stream is not multipart: {kind!r}")
            parser = StreamParser(kind)

            def events() -> Iterator[StreamEvent | None]:
                with self._errors():
                    for chunk in reply.iter_bytes():
                        try:
                            yield from parser.feed(chunk)
                        except ValueError as exc:
                            raise DeviceProtocolError(f"garbled event stream: {exc}") from None
                raise DeviceUnreachable("the controller closed the event stream")

            yield events

    def _request(self, path: str, params: dict[str, str]) -> httpx.Response:
        with self._errors():
            response = self._http.get(path, params=params)
        self._check(response)
        return response

    @staticmethod
    def _errors() -> AbstractContextManager[None]:
        # An event stream cut mid-part says "incomplete": the link died too.
        return transport_errors("the device", ("disconnected", "incomplete"))

    @staticmethod
    def _check(response: httpx.Response, *, read: bool = False) -> None:
        if response.status_code == 401:
            raise DeviceAuthError("user name or password refused (HTTP Digest)")
        if response.status_code >= 400:
            if read:
                response.read()
            words = " ".join(response.text.split())[:120] or response.reason_phrase
            raise DeviceRefused(f"HTTP {response.status_code}: {words}")

    @staticmethod
    def _table(response: httpx.Response) -> dict[str, Any]:
        try:
            return parse_table(response.text)
        except WireError as exc:
            raise DeviceProtocolError(f"unreadable reply: {exc}") from None
