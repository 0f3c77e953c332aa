"""An emulated Dahua access controller (ASI/ASA series) serving its HTTP CGI API on loopback.

It answers what the pull client and independent CGI clients ask, behind HTTP Digest auth
(qop=auth, MD5, realm "Login to <serial>"): `magicBox.cgi` (getSystemInfo,
getSoftwareVersion, getSerialNo, getDeviceType, getMachineName), `global.cgi?action=getCurrentTime`,
`recordFinder.cgi?action=find&name=AccessControlCardRec` (StartTime/EndTime on CreateTime,
both inclusive, `count` capped at 1024, records in storage order, `found` = records in the
reply) and `eventManager.cgi?action=attach&codes=[AccessControl]&heartbeat=N` (a
`multipart/x-mixed-replace` stream of `Code=AccessControl;action=Pulse;index=0;data={…}`
parts and `Heartbeat` parts). Errors are the CGI's `Error` text bodies.

One `RecNo` counter is shared by punches, failed verifications and door events, as on the
device. Fault switches: latency, refused credentials, a garbled reply, a dropped link after
N pages or N streamed events, a garbled stream part, clock skew, a cleared log, a record
counter that starts again or rolls over, and firmwares writing the wall clock into
CreateTime (with or without `CreateTimeRealUTC`).
"""

from __future__ import annotations

import bisect
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from devices.dahua.records import record_lines
from devices.dahua.stream import event_part
from devices.digest import DigestServer
from devices.httpemulator import EmulatorHandler, LoopbackServer

COUNT_CAP = 1024
BOUNDARY = "myboundary"
STATES = (1, 4)  # sign in, sign out: what most people press
PERSON_METHODS = (15, 15, 15, 6, 1)  # face mostly, then fingerprint and card
Firmware = Literal["utc", "local", "local+realutc"]


@dataclass
class DahuaFaults:
    """Ways the emulated controller misbehaves (all off by default)."""

    latency_s: float = 0.0
    wrong_password: bool = False  # refuse every login, as after a password change
    garble_find: int | None = None  # the Nth record search reply (1-based) is not key=value
    drop_after_pages: int | None = None  # close the connection instead of page N+1
    drop_stream_after: int | None = None  # the event stream dies after N events
    garble_stream_after: int | None = None  # after N events, a part that is not an event
    rec_no_limit: int | None = None  # RecNo rolls over to 1 after this number


@dataclass
class DahuaController:
    """The controller's state: its record log, RecNo counter, clock and credentials."""

    username: str = "admin"
    password: str = "dahua12345"
    timezone: str = "UTC"
    serial_number: str = "7G0A1B2PAZ12345"
    device_type: str = "ASI7213X-T1"
    firmware_version: str = "1.000.10UD000.0.R, Build Date 2024-03-15"
    firmware: Firmware = "utc"  # what CreateTime holds (see the module docstring)
    skew_s: float = 0.0
    faults: DahuaFaults = field(default_factory=DahuaFaults)
    records: list[dict[str, Any]] = field(default_factory=list)
    next_rec_no: int = 1
    # CreateTimes in storage order, and whether they never go back (then a search bisects
    # instead of scanning, as the device's index would: large logs stay quick to page).
    _times: list[int] = field(default_factory=list, repr=False)
    _ordered: bool = field(default=True, repr=False)
    finds: int = 0  # search replies asked for, for faults and tests
    attaches: int = 0  # event streams opened, for tests
    attach_paths: list[str] = field(default_factory=list)  # their request lines' targets
    pages_served: int = 0
    queries: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    changed: threading.Condition = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    @property
    def zone(self) -> ZoneInfo:
        """The zone the controller's clock shows."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The controller's clock: aware, in its zone, off by the skew fault."""
        return (datetime.now(UTC) + timedelta(seconds=self.skew_s)).astimezone(self.zone)

    def add_record(
        self,
        when: datetime,
        *,
        user: str = "",
        method: int = 15,
        status: int = 1,
        state: int = 0,
        door_type: str = "Entry",
        card: str = "",
    ) -> dict[str, Any]:
        """Append one record with the next RecNo; `when` naive means the controller's zone."""
        local = (when.replace(tzinfo=self.zone) if when.tzinfo is None else when).astimezone(
            self.zone
        )
        utc = int(local.timestamp())
        wall = int(local.replace(tzinfo=UTC).timestamp())  # the wall clock read as UTC
        with self.changed:
            record: dict[str, Any] = {
                "RecNo": self.next_rec_no,
                "CreateTime": utc if self.firmware == "utc" else wall,
                "UserID": user,
                "CardNo": card,
                "CardName": f"Person {user}" if user else "",
                "Method": method,
                "Status": status,
                "AttendanceState": state,
                "Type": door_type,
                "Door": 0,
                "ReaderID": 1,
                "ErrorCode": 0 if status == 1 else 16,
            }
            if self.firmware == "local+realutc":
                record["CreateTimeRealUTC"] = utc
            if self._times and record["CreateTime"] < self._times[-1]:
                self._ordered = False
            self.records.append(record)
            self._times.append(record["CreateTime"])
            limit = self.faults.rec_no_limit
            self.next_rec_no = 1 if limit and self.next_rec_no >= limit else self.next_rec_no + 1
            self.changed.notify_all()
        return record

    def fill(self, count: int, *, seed: int = 42, start: datetime | None = None) -> None:
        """`count` punches over past working days, with door events and failures between."""
        rng = random.Random(seed)
        when = start or (self.now() - timedelta(days=max(1, count // 40 + 1))).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        for i in range(count):
            when += timedelta(seconds=rng.randint(20, 900))
            state = STATES[i % 2] if rng.random() < 0.9 else rng.randint(0, 6)
            user = str(1001 + rng.randrange(50))
            self.add_record(when, user=user, method=rng.choice(PERSON_METHODS), state=state)
            noise = rng.random()
            if noise < 0.2:  # the exit button
                self.add_record(when + timedelta(seconds=2), method=5, door_type="Exit")
            elif noise < 0.3:  # a face not matched
                self.add_record(when + timedelta(seconds=1), user=user, method=15, status=0)

    def punch_now(self, rng: random.Random) -> dict[str, Any]:
        """A face punch by a random enrolled person at the controller's current time."""
        user = str(1001 + rng.randrange(50))
        return self.add_record(self.now(), user=user, method=15, state=rng.choice(STATES))

    def clear_log(self, *, restart_rec_no: bool = False) -> None:
        """Erase the records (a technician's "clear records"); optionally RecNo starts again."""
        with self.lock:
            self.records.clear()
            self._times.clear()
            self._ordered = True
            if restart_rec_no:
                self.next_rec_no = 1

    def find_reply(self, query: dict[str, str]) -> str:
        """The recordFinder reply to one query, as the firmware writes it."""
        self.queries.append(query)
        start = int(query.get("StartTime", "0") or 0)
        end = int(query.get("EndTime", str(2**32)) or 2**32)
        count = max(1, min(int(query.get("count", COUNT_CAP) or COUNT_CAP), COUNT_CAP))
        with self.lock:
            if self._ordered and len(self._times) == len(self.records):
                first = bisect.bisect_left(self._times, start)
                page = [r for r in self.records[first : first + count] if r["CreateTime"] <= end]
            else:  # a test edited records in place, or the clock went back: scan
                page = [r for r in self.records if start <= int(r["CreateTime"]) <= end][:count]
        lines = [f"found={len(page)}"]
        for i, record in enumerate(page):
            lines += record_lines(i, record)
        return "\r\n".join(lines) + "\r\n"

    def system_info(self) -> str:
        """`magicBox.cgi?action=getSystemInfo`."""
        return (
            f"deviceType={self.device_type}\r\nhardwareVersion=1.00\r\n"
            f"processor=SSC337DE\r\nserialNumber={self.serial_number}\r\n"
            f"updateSerial={self.device_type}\r\n"
        )

    def event_body(self, record: dict[str, Any]) -> str:
        """The stream part of one new record (`Code=AccessControl;action=Pulse…`)."""
        data = {
            "UserID": record["UserID"],
            "CardNo": record["CardNo"],
            "CardName": record["CardName"],
            "Method": record["Method"],
            "Status": record["Status"],
            "Type": record["Type"],
            "Door": record["Door"],
            "ErrorCode": record["ErrorCode"],
            "AttendanceState": record["AttendanceState"],
            "UTC": record.get("CreateTimeRealUTC", record["CreateTime"]),
        }
        return f"Code=AccessControl;action=Pulse;index=0;data={json.dumps(data, indent=1)}"


class _Handler(EmulatorHandler):
    server_version = "Webs"
    controller: DahuaController
    digest: DigestServer
    stopping: threading.Event

    def do_GET(self) -> None:
        controller = self.controller
        faults = controller.faults
        if faults.latency_s:
            time.sleep(faults.latency_s)
        authorized = not faults.wrong_password and self.digest.check(
            self.headers.get("Authorization"),
            self.command,
            controller.username,
            controller.password,
        )
        if not authorized:
            self._send(401, "Error\r\nUnauthorized!\r\n", challenge=True)
            return
        path, _, raw_query = self.path.partition("?")
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        action = query.get("action", "")
        if path == "/cgi-bin/magicBox.cgi" and action == "getSystemInfo":
            self._send(200, controller.system_info())
        elif path == "/cgi-bin/magicBox.cgi" and action == "getSoftwareVersion":
            self._send(200, f"version={controller.firmware_version}\r\n")
        elif path == "/cgi-bin/magicBox.cgi" and action == "getSerialNo":
            self._send(200, f"sn={controller.serial_number}\r\n")
        elif path == "/cgi-bin/magicBox.cgi" and action == "getMachineName":
            self._send(200, f"name={controller.serial_number}\r\n")
        elif path == "/cgi-bin/magicBox.cgi" and action == "getDeviceType":
            self._send(200, f"type={controller.device_type}\r\n")
        elif path == "/cgi-bin/global.cgi" and action == "getCurrentTime":
            self._send(200, f"result={controller.now().strftime('%Y-%m-%d %H:%M:%S')}\r\n")
        elif (
            path == "/cgi-bin/recordFinder.cgi"
            and action == "find"
            and query.get("name") == "AccessControlCardRec"
        ):
            self._find(query)
        elif path == "/cgi-bin/eventManager.cgi" and action == "attach":
            self._attach(query)
        else:
            self._send(400, "Error\r\nBad Request!\r\n")

    def _find(self, query: dict[str, str]) -> None:
        controller = self.controller
        faults = controller.faults
        try:
            reply = controller.find_reply(query)
        except ValueError:
            self._send(400, "Error\r\nBad Request!\r\n")
            return
        with controller.lock:
            controller.finds += 1
            number = controller.finds
        if faults.drop_after_pages is not None and number > faults.drop_after_pages:
            self.drop_link()  # the link dies before the reply
            return
        if faults.garble_find == number:
            self._send(200, "found=3\r\nrecords[0].RecNo")
            return
        with controller.lock:
            controller.pages_served += 1
        self._send(200, reply)

    def _attach(self, query: dict[str, str]) -> None:
        controller = self.controller
        codes = query.get("codes", "")
        wanted = {c.strip() for c in codes.strip("[]").split(",") if c.strip()}
        if not wanted:
            self._send(400, "Error\r\nBad Request!\r\n")
            return
        heartbeat = max(1, int(query.get("heartbeat", "0") or 0) or 60)
        with controller.lock:
            controller.attaches += 1
            controller.attach_paths.append(self.path)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.end_headers()
        with controller.lock:
            seen = len(controller.records)
        sent = 0
        try:
            while not self.stopping.is_set():
                with controller.changed:
                    controller.changed.wait_for(
                        lambda known=seen: (
                            len(controller.records) != known  # type: ignore[misc]
                            or self.stopping.is_set()
                        ),
                        timeout=heartbeat,
                    )
                    if len(controller.records) < seen:
                        seen = 0  # the log was cleared: what follows is new
                    fresh = list(controller.records[seen:])
                    seen = len(controller.records)
                if not fresh:
                    self.wfile.write(event_part("Heartbeat", BOUNDARY))
                    self.wfile.flush()
                    continue
                if not ({"All", "AccessControl"} & wanted):
                    continue
                for record in fresh:
                    limit = controller.faults.drop_stream_after
                    if limit is not None and sent >= limit:
                        self.connection.shutdown(2)  # the link dies mid-stream
                        return
                    garble = controller.faults.garble_stream_after
                    body = controller.event_body(record)
                    if garble is not None and sent >= garble:
                        body = body[: len(body) // 2]  # the data's JSON cut short
                    self.wfile.write(event_part(body, BOUNDARY))
                    sent += 1
                self.wfile.flush()
        except OSError:
            return  # the client went away

    def _send(self, status: int, text: str, *, challenge: bool = False) -> None:
        auth = self.digest.challenge() if challenge else None
        self.reply(status, text.encode(), "text/plain;charset=utf-8", challenge=auth)


class DahuaEmulator(LoopbackServer):
    """Serves one `DahuaController` on 127.0.0.1 in a background thread; a context manager."""

    def __init__(self, controller: DahuaController, port: int = 0) -> None:
        self.stopping = threading.Event()
        handler = type(
            "DahuaHandler",
            (_Handler,),
            {
                "controller": controller,
                "digest": DigestServer(f"Login to {controller.serial_number}"),
                "stopping": self.stopping,
            },
        )
        self.controller = controller
        super().__init__(handler, port, "dahua-emulator")

    def stop(self) -> None:
        """Stop serving, end open event streams, and close the socket."""
        self.stopping.set()
        with self.controller.changed:
            self.controller.changed.notify_all()
        super().stop()
