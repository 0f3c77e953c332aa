"""A push-mode terminal simulator: an HTTP client that behaves like a face terminal in ADMS mode.

It handshakes, uploads punches in real time or as an offline backlog in batches, polls for
commands and executes them, and retries every request until the server says OK — re-sending
the same batch after an error or a timeout, as real terminals do. Its `Ledger` records what it
generated and what the server acknowledged, so tests can compare it with the store.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from devices.zk.push.records import key_values
from devices.zk.push.wire import (
    TerminalInfo,
    from_zk_time,
    info_text,
    parse_command_line,
    parse_options,
)

log = logging.getLogger(__name__)


class SimulatorGaveUp(RuntimeError):
    """A request kept failing beyond the simulator's attempt limit."""


@dataclass(frozen=True, slots=True)
class SimRecord:
    """One punch the simulated terminal made, numbered in the order it made them."""

    seq: int
    pin: str
    when: datetime  # the terminal's local time, naive
    status: int = 0
    verify: int = 15
    workcode: int = 0

    def line(self) -> str:
        """The ATTLOG line a current face terminal sends for this record."""
        stamp = self.when.strftime("%Y-%m-%d %H:%M:%S")
        return f"{self.pin}\t{stamp}\t{self.status}\t{self.verify}\t{self.workcode}\t0\t0\t0\t0\t0"


@dataclass(frozen=True, slots=True)
class ExecutedCommand:
    """A command the terminal received and what it answered."""

    command_id: int
    command: str
    return_code: int


@dataclass
class Ledger:
    """What the simulator generated, what the server acknowledged, and what went wrong."""

    generated: list[SimRecord] = field(default_factory=list)
    acked_through: int = 0  # highest record seq the server has said OK for
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    error_replies: int = 0
    lost_replies: int = 0  # replies the simulator pretended never arrived
    batches: int = 0
    commands: list[ExecutedCommand] = field(default_factory=list)
    lost_by_clear: int = 0  # records a CLEAR LOG erased before the server had them
    reboots: int = 0


@dataclass
class Faults:
    """Failures to inject: every n-th upload's reply is lost (the server did commit)."""

    lose_reply_every: int = 0


class PushTerminalSimulator:
    """A simulated push terminal talking to `base_url` (``http://127.0.0.1:<port>``)."""

    def __init__(
        self,
        base_url: str,
        serial: str,
        *,
        timezone: str = "UTC",
        token: str | None = None,
        batch_size: int = 500,
        timeout: float = 10.0,
        max_timeout: float = 60.0,
        retry_delay: float = 0.05,
        max_attempts: int | None = 200,
        faults: Faults | None = None,
        firmware: str = "Ver 8.0.4.7-sim",
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the simulator speaks plain http to a host: {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.serial = serial
        self.zone = ZoneInfo(timezone)
        self.token = token
        self.batch_size = batch_size
        self.base_timeout = timeout
        self.max_timeout = max_timeout
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts
        self.faults = faults or Faults()
        self.firmware = firmware
        self.rng = random.Random(seed)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.clock_offset = timedelta(0)
        self.ledger = Ledger()
        self.log: list[SimRecord] = []  # records on the terminal (kept until CLEAR LOG)
        self.users: dict[str, str] = {}  # PIN → name
        self.options: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._uploads = 0
        self._lock = threading.RLock()
        self.stopping = threading.Event()  # set to make a retrying request give up

    # -- the terminal's clock and log ----------------------------------------------------
    def local_now(self) -> datetime:
        """The terminal's own clock: local, naive, second precision."""
        now = self._clock().astimezone(self.zone).replace(tzinfo=None, microsecond=0)
        return now + self.clock_offset

    def punch(
        self, pin: str, when: datetime | None = None, *, status: int = 0, verify: int = 15
    ) -> SimRecord:
        """Someone punches: the record joins the terminal's log, not yet uploaded."""
        with self._lock:
            record = SimRecord(
                seq=len(self.ledger.generated) + 1,
                pin=pin,
                when=when or self.local_now(),
                status=status,
                verify=verify,
            )
            self.ledger.generated.append(record)
            self.log.append(record)
            return record

    def add_backlog(
        self, count: int, *, start: datetime, pins: Iterable[str], step: timedelta | None = None
    ) -> list[SimRecord]:
        """Punches made while offline: `count` records from `start`, cycling through `pins`."""
        pin_list = list(pins)
        step = step or timedelta(seconds=7)
        out = []
        for i in range(count):
            pin = pin_list[i % len(pin_list)]
            out.append(self.punch(pin, start + step * i, status=i % 2, verify=15))
        return out

    @property
    def pending(self) -> list[SimRecord]:
        """Records on the terminal the server has not acknowledged."""
        return [r for r in self.log if r.seq > self.ledger.acked_through]

    # -- the protocol --------------------------------------------------------------------
    def handshake(self) -> dict[str, str]:
        """``GET /iclock/cdata?options=all``: learn the options and where to resume."""
        _, text = self._until_ok(
            "GET", self._path("/iclock/cdata", options="all", pushver="3.1.2", language="69")
        )
        self.options = parse_options(text)
        stamp = self.options.get("ATTLOGStamp", self.options.get("Stamp", "0"))
        if stamp.isdigit() and int(stamp) > self.ledger.acked_through:
            self.ledger.acked_through = int(stamp)  # the server already has these
        return self.options

    def upload(self) -> int:
        """Upload every pending record in batches, each re-sent until the server says OK."""
        sent = 0
        while True:
            with self._lock:
                batch = self.pending[: self.batch_size]
            if not batch:
                return sent
            body = "\n".join(r.line() for r in batch) + "\n"
            path = self._path("/iclock/cdata", table="ATTLOG", Stamp=str(batch[-1].seq))
            self._until_ok("POST", path, body, upload=True)
            with self._lock:
                self.ledger.acked_through = max(self.ledger.acked_through, batch[-1].seq)
                self.ledger.batches += 1
            sent += len(batch)

    def upload_users(self) -> None:
        """Upload the roster as OPERLOG ``USER`` lines."""
        lines = [
            f"USER PIN={pin}\tName={name}\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000000000000"
            for pin, name in sorted(self.users.items())
        ]
        if lines:
            body = "\n".join(lines) + "\n"
            self._until_ok("POST", self._path("/iclock/cdata", table="OPERLOG", Stamp="1"), body)

    def info(self) -> TerminalInfo:
        """What the terminal says about itself in getrequest."""
        return TerminalInfo(
            firmware=self.firmware,
            users=len(self.users),
            fingerprints=0,
            records=len(self.log),
            ip="127.0.0.1",
        )

    def poll(self) -> list[ExecutedCommand]:
        """``GET /iclock/getrequest``: fetch queued commands, run them, report the results."""
        _, text = self._until_ok(
            "GET", self._path("/iclock/getrequest", INFO=info_text(self.info()))
        )
        done: list[ExecutedCommand] = []
        reboot = False
        for line in text.splitlines():
            if not line.startswith("C:"):
                continue
            try:
                command_id, command = parse_command_line(line)
            except ValueError:
                continue
            code, content = self.execute(command)
            done.append(ExecutedCommand(command_id, command, code))
            reboot = reboot or command.strip().upper() == "REBOOT"
            extra = "".join(f"\n{k}={v}" for k, v in content.items())
            verb = command.split(" ", 1)[0].upper()
            body = f"ID={command_id}&Return={code}&CMD={verb}{extra}\n"
            self._until_ok("POST", self._path("/iclock/devicecmd"), body)
        self.ledger.commands.extend(done)
        if reboot:
            self.ledger.reboots += 1
            self.handshake()
        return done

    def execute(self, command: str) -> tuple[int, dict[str, str]]:
        """Carry out one command the way a terminal would; return its code and any content."""
        text = command.strip()
        upper = text.upper()
        with self._lock:
            if upper.startswith("DATA UPDATE USERINFO"):
                values = key_values(text[len("DATA UPDATE USERINFO") :].strip())
                if not values.get("PIN"):
                    return -1, {}
                self.users[values["PIN"]] = values.get("NAME", "")
                return 0, {}
            if upper.startswith("DATA DELETE USERINFO"):
                values = key_values(text[len("DATA DELETE USERINFO") :].strip())
                self.users.pop(values.get("PIN", ""), None)
                return 0, {}
            if upper.startswith("SET OPTION "):
                key, _, value = text[len("SET OPTION ") :].partition("=")
                if key.strip().upper() == "DATETIME":
                    try:
                        target = from_zk_time(int(value))
                    except ValueError:
                        return -1, {}
                    self.clock_offset += target - self.local_now()
                self.options[key.strip()] = value.strip()
                return 0, {}
            if upper == "CLEAR LOG":
                self.ledger.lost_by_clear += len(self.pending)
                self.log.clear()
                return 0, {}
            if upper in {"REBOOT", "CHECK", "LOG"}:
                return 0, {}
            if upper == "INFO":
                return 0, {
                    "~DeviceName": "punchgate-sim",
                    "FWVersion": self.firmware,
                    "UserCount": str(len(self.users)),
                    "TransactionCount": str(len(self.log)),
                }
        return -1, {}

    def step(self) -> None:
        """One beat of the terminal's loop: upload what is pending, then poll for commands."""
        self.upload()
        self.poll()

    def run(
        self,
        *,
        interval: float = 2.0,
        pins: list[str] | None = None,
        punch_probability: float = 0.3,
    ) -> None:
        """Behave like a terminal at a door until `stopping` is set (used by the demo)."""
        try:
            self.handshake()
            while not self.stopping.is_set():
                if pins and self.rng.random() < punch_probability:
                    self.punch(self.rng.choice(pins), status=self.rng.choice((0, 1)))
                try:
                    self.step()
                except SimulatorGaveUp:
                    if not self.stopping.is_set():
                        log.warning("push simulator %s: server unreachable", self.serial)
                self.stopping.wait(interval)
        except SimulatorGaveUp:
            pass  # stopped while waiting for the server
        finally:
            self.close()

    def close(self) -> None:
        """Drop the HTTP connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- HTTP with retries ---------------------------------------------------------------
    def _path(self, path: str, **params: str) -> str:
        query = {"SN": self.serial, **params}
        if self.token:
            query["token"] = self.token
        joined = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return f"{self.prefix}{path}?{joined}"

    def _until_ok(
        self, method: str, path: str, body: str | None = None, *, upload: bool = False
    ) -> tuple[int, str]:
        """Send until a 200 answer (an upload needs ``OK``), backing off between tries."""
        attempt = 0
        timeout = self.base_timeout
        delay = self.retry_delay
        while True:
            attempt += 1
            if self.max_attempts is not None and attempt > self.max_attempts:
                raise SimulatorGaveUp(f"{method} {path.split('?')[0]}: {attempt - 1} attempts")
            if self.stopping.is_set():
                raise SimulatorGaveUp("stopped")
            if attempt > 1:
                self.ledger.retries += 1
                self.stopping.wait(delay)
                delay = min(delay * 2, 5.0)
            try:
                status, text = self._once(method, path, body, timeout)
            except TimeoutError:
                self.ledger.timeouts += 1
                timeout = min(timeout * 2, self.max_timeout)  # a slow server gets more time
                continue
            except (OSError, http.client.HTTPException):
                continue
            if status != 200 or (upload and not text.startswith("OK")):
                self.ledger.error_replies += 1
                continue
            if upload:
                self._uploads += 1
                every = self.faults.lose_reply_every
                if every and self._uploads % every == 0:
                    self.ledger.lost_replies += 1  # as if the reply had been lost on the way
                    continue
            return status, text

    def _once(self, method: str, path: str, body: str | None, timeout: float) -> tuple[int, str]:
        self.ledger.requests += 1
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        headers = {"Content-Type": "text/plain", "User-Agent": "iClock Proxy/1.09"}
        try:
            self._conn.request(method, path, body=body.encode() if body else None, headers=headers)
            response = self._conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except BaseException:
            self.close()  # a half-used connection cannot carry the next request
            raise
        if response.will_close:
            self.close()
        return response.status, text
