"""An emulated Hikvision access-control terminal (DS-K1T…) serving ISAPI on loopback.

It answers what the pull client and independent ISAPI clients ask: `GET
/ISAPI/System/deviceInfo`, `/ISAPI/System/status` and `/ISAPI/System/time` (XML), and `POST
/ISAPI/AccessControl/AcsEvent?format=json` with the firmware's paging (maxResults capped at
30, `responseStatusStrg` MORE / OK / NO MATCH, `beginSerialNo`/`endSerialNo` bounds),
behind HTTP Digest auth (qop=auth, MD5). Events carry one serial counter shared by
punches, door and failed-verification events, as real terminals do. Errors are ISAPI
`ResponseStatus` bodies. Fault switches: latency, refused credentials, push-only firmware
(notSupport), a garbled reply, a dropped connection after N pages, clock skew, a firmware
that ignores `beginSerialNo`, a cleared log and a serial counter that starts again.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.digest import DigestServer
from devices.hikvision.events import MAJOR_EVENT, parse_time
from devices.hikvision.pusher import HttpHost, Pusher, hosts_xml, parse_hosts
from devices.httpemulator import EmulatorHandler, LoopbackServer

REALM = "DS-K1T671MF"
NS = "http://www.hikvision.com/ver20/XMLSchema"
PAGE_CAP = 30
STATUSES = ("checkIn", "checkOut", "breakOut", "breakIn", "overtimeIn", "overtimeOut")
VERIFY_MINORS = (75, 75, 75, 38, 1)  # face mostly, then fingerprint and card
NOISE_MINORS = (21, 22, 76)  # door unlocked, door locked, face verification failed


@dataclass
class HikFaults:
    """Ways the emulated terminal misbehaves (all off by default)."""

    latency_s: float = 0.0
    wrong_password: bool = False  # refuse every login, as after a password change
    push_only: bool = False  # AcsEvent search answered notSupport
    garble_search: int | None = None  # the Nth search reply (1-based) is not JSON
    drop_after_pages: int | None = None  # close the connection instead of page N+1
    ignore_begin_serial: bool = False  # older firmware: beginSerialNo has no effect
    forget_hosts_on_reboot: bool = False  # reported: pushing stops until re-registered


@dataclass
class HikTerminal:
    """The terminal's state: its event log, serial counter, clock and credentials."""

    username: str = "admin"
    password: str = "hik12345"
    timezone: str = "UTC"
    serial_number: str = "DS-K1T671MF20241105V031000ENAB1234567"
    model: str = "DS-K1T671MF"
    firmware: str = "V3.10.0"
    skew_s: float = 0.0
    faults: HikFaults = field(default_factory=HikFaults)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_serial: int = 1
    searches: int = 0  # search replies served, for faults and tests
    conditions: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100))
    _results: OrderedDict[str, list[dict[str, Any]]] = field(
        default_factory=OrderedDict, repr=False
    )
    http_hosts: list[HttpHost] = field(default_factory=list)  # where it posts (push)
    pusher: Pusher | None = field(default=None, repr=False)  # set by the emulator
    pages_served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        """The zone the terminal's clock shows."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The terminal's clock: aware, in its zone, off by the skew fault."""
        return (datetime.now(UTC) + timedelta(seconds=self.skew_s)).astimezone(self.zone)

    def add_event(
        self,
        when: datetime,
        *,
        minor: int = 75,
        employee: str = "",
        status: str | None = "checkIn",
        major: int = MAJOR_EVENT,
        name: str = "",
    ) -> dict[str, Any]:
        """Append one event with the next serial; `when` naive means the terminal's zone."""
        local = when.replace(tzinfo=self.zone) if when.tzinfo is None else when
        with self.lock:
            event: dict[str, Any] = {
                "major": major,
                "minor": minor,
                "time": local.astimezone(self.zone).isoformat(timespec="seconds"),
                "serialNo": self.next_serial,
                "currentVerifyMode": "cardOrFaceOrFp" if employee else "invalid",
            }
            if employee:
                event.update(
                    {
                        "cardType": 1,
                        "name": name or f"Person {employee}",
                        "cardReaderNo": 1,
                        "doorNo": 1,
                        "employeeNoString": employee,
                        "type": 0,
                        "userType": "normal",
                        "mask": "no",
                        "pictureURL": f"http://127.0.0.1/LOCALS/pic/acsLinkCap/{self.next_serial}.jpg",
                    }
                )
                if status is not None:
                    event["attendanceStatus"] = status
                    event["label"] = status
            else:
                event["doorNo"] = 1
            self.events.append(event)
            self.next_serial += 1
            hosts = list(self.http_hosts)
        if self.pusher is not None:
            for host in hosts:
                self.pusher.post(host, event)
        return event

    def fill(self, count: int, *, seed: int = 42, start: datetime | None = None) -> None:
        """`count` punches over past working days, each followed by door events (noise)."""
        rng = random.Random(seed)
        local = start or (self.now() - timedelta(days=max(1, count // 40 + 1))).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        when = local
        for i in range(count):
            when += timedelta(seconds=rng.randint(20, 900))
            status = STATUSES[i % 2] if rng.random() < 0.9 else rng.choice(STATUSES)
            minor = rng.choice(VERIFY_MINORS)
            self.add_event(when, minor=minor, employee=str(1001 + rng.randrange(50)), status=status)
            if rng.random() < 0.5:
                self.add_event(when + timedelta(seconds=1), minor=rng.choice(NOISE_MINORS))

    def punch_now(self, rng: random.Random) -> dict[str, Any]:
        """A face punch by a random enrolled person at the terminal's current time."""
        employee = str(1001 + rng.randrange(50))
        return self.add_event(self.now(), minor=75, employee=employee, status=rng.choice(STATUSES))

    def reboot(self) -> None:
        """A power cycle; with the fault on, the firmware forgets its httpHosts."""
        if self.faults.forget_hosts_on_reboot:
            with self.lock:
                self.http_hosts.clear()

    def clear_log(self, *, restart_serial: bool = False) -> None:
        """Erase the log (a technician's "clear events"); optionally the counter restarts."""
        with self.lock:
            self.events.clear()
            if restart_serial:
                self.next_serial = 1

    def search(self, cond: dict[str, Any]) -> dict[str, Any]:
        """The AcsEvent reply to one AcsEventCond, as the firmware pages it."""
        position = int(cond.get("searchResultPosition", 0))
        limit = max(1, min(int(cond.get("maxResults", PAGE_CAP)), PAGE_CAP))
        major, minor = int(cond.get("major", 0)), int(cond.get("minor", 0))
        start = parse_time(cond["startTime"]) if cond.get("startTime") else None
        end = parse_time(cond["endTime"]) if cond.get("endTime") else None
        self.conditions.append(cond)
        begin = None if self.faults.ignore_begin_serial else cond.get("beginSerialNo")
        last = None if self.faults.ignore_begin_serial else cond.get("endSerialNo")

        def inside(event: dict[str, Any]) -> bool:
            when = self._when(event)
            return when is None or (
                (start is None or when >= start) and (end is None or when <= end)
            )

        # The firmware keeps a search's result under its searchID while it is paged: later
        # pages come from that snapshot, not from a new scan of the log.
        key = json.dumps(
            {k: v for k, v in cond.items() if k not in ("searchResultPosition", "maxResults")},
            sort_keys=True,
        )
        with self.lock:
            matches = self._results.get(key)
            if matches is None:
                matches = [
                    e
                    for e in self.events
                    if (not major or e["major"] == major)
                    and (not minor or e["minor"] == minor)
                    and (begin is None or e["serialNo"] >= int(begin))
                    and (last is None or e["serialNo"] <= int(last))
                    and inside(e)
                ]
                if cond.get("timeReverseOrder"):
                    matches.reverse()
                self._results[key] = matches
                while len(self._results) > 4:  # a few searches at a time, as on the device
                    self._results.popitem(last=False)
        page = matches[position : position + limit]
        done = position + len(page) >= len(matches)
        status = "NO MATCH" if not matches else ("OK" if done else "MORE")
        reply: dict[str, Any] = {
            "searchID": cond.get("searchID", ""),
            "totalMatches": len(matches),
            "responseStatusStrg": status,
            "numOfMatches": len(page),
        }
        if page:
            reply["InfoList"] = page  # absent when nothing matched, as on the device
        return {"AcsEvent": reply}

    def _when(self, event: dict[str, Any]) -> datetime | None:
        # An injected event with a broken time matches every window, as garbage would.
        try:
            stamp = parse_time(event.get("time"))
        except ValueError:
            return None
        return stamp.replace(tzinfo=self.zone) if stamp.tzinfo is None else stamp

    def device_info_xml(self) -> str:
        """`/ISAPI/System/deviceInfo`."""
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" xmlns="{NS}">'
            "<deviceName>Access Controller</deviceName><deviceID>255</deviceID>"
            f"<model>{self.model}</model><serialNumber>{self.serial_number}</serialNumber>"
            "<macAddress>bc:5e:33:00:12:34</macAddress>"
            f"<firmwareVersion>{self.firmware}</firmwareVersion>"
            "<firmwareReleasedDate>build 241105</firmwareReleasedDate>"
            "<deviceType>ACS</deviceType></DeviceInfo>"
        )

    def status_xml(self) -> str:
        """`/ISAPI/System/status` (clients probe it to choose Basic or Digest)."""
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<DeviceStatus version="2.0" xmlns="{NS}">'
            f"<currentDeviceTime>{self.now().isoformat(timespec='seconds')}</currentDeviceTime>"
            "<deviceUpTime>86400</deviceUpTime></DeviceStatus>"
        )

    def time_xml(self) -> str:
        """`/ISAPI/System/time`: local time with offset, zone in POSIX form (sign inverted)."""
        now = self.now()
        offset = now.utcoffset() or timedelta()
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes >= 0 else "+"
        posix = f"CST{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}:00"
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Time version="2.0" xmlns="{NS}">'
            f"<timeMode>manual</timeMode><localTime>{now.isoformat(timespec='seconds')}"
            f"</localTime><timeZone>{posix}</timeZone></Time>"
        )


def status_body(code: int, words: str, sub: str, path: str, msg: str = "") -> dict[str, Any]:
    """An ISAPI ResponseStatus in its JSON form."""
    body: dict[str, Any] = {
        "requestURL": path,
        "statusCode": code,
        "statusString": words,
        "subStatusCode": sub,
    }
    if sub == "notSupport":
        body["errorCode"] = 0x40000001
    body["errorMsg"] = msg or sub
    return body


class _Handler(EmulatorHandler):
    server_version = "webs"
    terminal: HikTerminal
    digest: DigestServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        terminal = self.terminal
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if terminal.faults.latency_s:
            time.sleep(terminal.faults.latency_s)
        authorized = not terminal.faults.wrong_password and self.digest.check(
            self.headers.get("Authorization"), self.command, terminal.username, terminal.password
        )
        if not authorized:
            self.reply(401, b"", "text/plain", challenge=self.digest.challenge())
            return
        path = self.path.split("?", 1)[0]
        if self.command == "GET" and path == "/ISAPI/System/deviceInfo":
            self.reply(200, terminal.device_info_xml().encode(), "application/xml")
        elif self.command == "GET" and path == "/ISAPI/System/status":
            self.reply(200, terminal.status_xml().encode(), "application/xml")
        elif self.command == "GET" and path == "/ISAPI/System/time":
            self.reply(200, terminal.time_xml().encode(), "application/xml")
        elif path == "/ISAPI/Event/notification/httpHosts" and self.command in ("GET", "PUT"):
            self._hosts(body, path)
        elif self.command == "POST" and path == "/ISAPI/AccessControl/AcsEvent":
            self._search(body, path)
        else:
            self.reply_json(404, status_body(4, "Invalid Operation", "notSupport", path))

    def _hosts(self, body: bytes, path: str) -> None:
        terminal = self.terminal
        if self.command == "PUT":
            try:
                hosts = parse_hosts(body)
            except ValueError as exc:
                self.reply_json(
                    400, status_body(6, "Invalid Content", "badXmlContent", path, str(exc))
                )
                return
            with terminal.lock:
                terminal.http_hosts[:] = hosts
            self.reply_json(200, status_body(1, "OK", "ok", path))
            return
        with terminal.lock:
            text = hosts_xml(list(terminal.http_hosts))
        self.reply(200, text.encode(), "application/xml")

    def _search(self, body: bytes, path: str) -> None:
        terminal = self.terminal
        faults = terminal.faults
        if faults.push_only:
            self.reply_json(403, status_body(4, "Invalid Operation", "notSupport", path))
            return
        try:
            cond = json.loads(body)["AcsEventCond"]
            if not isinstance(cond, dict):
                raise TypeError("AcsEventCond is not an object")
            reply = terminal.search(cond)
        except (ValueError, KeyError, TypeError) as exc:
            sub = "badJsonContent"
            self.reply_json(400, status_body(6, "Invalid Content", sub, path, str(exc)))
            return
        with terminal.lock:
            terminal.searches += 1
            number = terminal.searches
        if faults.drop_after_pages is not None and number > faults.drop_after_pages:
            self.drop_link()  # the link dies before the reply
            return
        if faults.garble_search == number:
            self.reply(200, b'{"AcsEvent": {"searchID": "', "application/json")
            return
        with terminal.lock:
            terminal.pages_served += 1
        self.reply_json(200, reply)


class HikEmulator(LoopbackServer):
    """Serves one `HikTerminal` on 127.0.0.1 in a background thread; a context manager."""

    def __init__(self, terminal: HikTerminal, port: int = 0, *, multipart: bool = False) -> None:
        digest = DigestServer(REALM)
        handler = type("HikHandler", (_Handler,), {"terminal": terminal, "digest": digest})
        self.multipart = multipart  # post notifications as multipart with a picture
        self.terminal = terminal
        super().__init__(handler, port, "hik-emulator")

    def start(self) -> None:
        """Start serving (and posting events to the terminal's httpHosts)."""
        self.terminal.pusher = Pusher(multipart=self.multipart)
        super().start()

    def stop(self) -> None:
        """Stop serving and posting, and close the socket."""
        super().stop()
        if self.terminal.pusher is not None:
            self.terminal.pusher.close()
            self.terminal.pusher = None
