"""The fleet soak's traffic: ZK terminal punches, a phones' morning peak, push terminals
behind a failing-over "load balancer", and HR readers; each keeps its own ledger."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devices.mobile.topics import Topics
from devices.zk.emulator import Terminal
from devices.zk.push.simulator import PushTerminalSimulator, SimulatorGaveUp
from soak.fleet_checks import Read
from soak.ledger import Generated, Malformed, message_id, record_id

MIN_GAP_S = 3  # one person punches at most once in this many seconds, on any source


def utc_epoch(naive: datetime) -> int:
    """A terminal's naive local time (its zone is UTC) as epoch seconds."""
    return int(naive.replace(tzinfo=UTC).timestamp())


class Gaps:
    """Keeps one person from punching twice within MIN_GAP_S (the store's dedupe key is the
    person and the second: two such punches would be one, by design)."""

    def __init__(self) -> None:
        self.last: dict[str, datetime] = {}
        self.lock = threading.Lock()

    def free(self, who: str, when: datetime) -> bool:
        """True (and remembered) if `who` may punch at `when`."""
        with self.lock:
            last = self.last.get(who)
            if last is not None and abs((when - last).total_seconds()) < MIN_GAP_S:
                return False
            self.last[who] = when
            return True


def paced(stop: threading.Event, rate: float, step: Callable[[], None]) -> None:
    """Call `step` `rate` times a second until `stop`."""
    interval, next_at = 1.0 / rate, time.monotonic()
    while not stop.is_set():
        step()
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


# -- ZK terminals ------------------------------------------------------------------------


class TerminalPunches:
    """Punches on random emulated terminals at a steady rate."""

    def __init__(self, terminals: dict[str, Terminal], gaps: Gaps, seed: int = 1) -> None:
        self.terminals, self.gaps, self.rng = terminals, gaps, random.Random(seed)
        self.codes = sorted(terminals)

    def step(self) -> None:
        """One punch (or none, when every tried person punched just now)."""
        term = self.terminals[self.rng.choice(self.codes)]
        for _ in range(5):
            user = self.rng.choice(term.users).user_id
            when = term.now()
            if self.gaps.free(user, when):
                term.punch(user, state=self.rng.choice((0, 1)), verify=15, when=when)
                return

    def generated(self) -> list[Generated]:
        """Every punch on every terminal, under its ledger id."""
        out = []
        for code, term in self.terminals.items():
            with term.lock:
                entries = list(term.ledger)
            out += [
                Generated("zk", record_id("terminal", code, u, w), u, utc_epoch(w))
                for u, w in entries
            ]
        return out


# -- phones ------------------------------------------------------------------------------


def peak_schedule(count: int, seconds: float, seed: int = 7) -> list[float]:
    """Offsets of `count` punches in `seconds`, crowded around 40 % of the way (a morning)."""
    rng = random.Random(seed)
    return sorted(rng.triangular(0, seconds, 0.4 * seconds) for _ in range(count))


class PhonePeak:
    """Each phone punches once (QoS 1) on the peak schedule and, as the phone contract says
    (docs/mobile.md), keeps the punch until it hears a receipt, re-sending it otherwise."""

    def __init__(self, port: int, topics: Topics, codes: list[str], resend_s: float = 20.0) -> None:
        self.port, self.topics, self.codes, self.resend_s = port, topics, codes, resend_s
        self.generated: dict[str, Generated] = {}
        self.bodies: dict[str, str] = {}
        self.sent_at: dict[str, float] = {}
        self.receipts: dict[str, str] = {}  # message id → status of its first receipt
        self.resends = 0
        self.no_subscribers = 0  # PUBACKs saying no subscriber matched (the broker dropped it)
        self.lock = threading.Lock()
        self.tag = uuid.uuid4().hex[:6]

    def _client(self) -> mqtt.Client:
        pub = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"phones-{self.tag}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        pub.max_inflight_messages_set(1000)
        pub.reconnect_delay_set(1, 2)
        ack = f"{self.topics.root}/ack/+"
        # A clean session each time: subscribe on every (re)connection.
        pub.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(ack, qos=1)
        pub.on_message = self._on_receipt
        pub.on_publish = self._on_puback
        return pub

    def _on_receipt(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        mid = doc.get("id") if isinstance(doc, dict) else None
        if isinstance(mid, str):
            with self.lock:
                self.receipts.setdefault(mid, str(doc.get("status")))

    def _on_puback(self, _c: mqtt.Client, _u: object, _mid: int, rc: Any, _p: object) -> None:
        if getattr(rc, "value", 0) == 16:  # MQTT 5 "No matching subscribers"
            with self.lock:
                self.no_subscribers += 1

    def run(self, stop: threading.Event, seconds: float, settle_s: float = 150.0) -> None:
        """Publish on the schedule; then re-send what has no receipt, up to `settle_s`."""
        pub = self._client()
        pub.connect("127.0.0.1", self.port)
        pub.loop_start()
        t0 = time.monotonic()
        for n, offset in enumerate(peak_schedule(len(self.codes), seconds)):
            while not stop.wait(min(1.0, max(0.0, t0 + offset - time.monotonic()))):
                if time.monotonic() >= t0 + offset:
                    break
                self._resend(pub)
            if stop.is_set():
                break
            code, mid = self.codes[n], f"fp-{self.tag}-{n}"
            now = datetime.now(UTC)
            body = {"schema_version": 1, "id": mid, "lat": 52.52, "lon": 13.405, "acc": 10,
                    "ts": now.isoformat(), "kind": "auto"}  # fmt: skip
            self.generated[mid] = Generated("phones", message_id(mid), code, int(now.timestamp()))
            self.bodies[mid] = json.dumps(body)
            self._publish(pub, mid)
        deadline = time.monotonic() + settle_s
        while self.unanswered() and time.monotonic() < deadline:
            self._resend(pub)
            time.sleep(1)
        pub.disconnect()
        pub.loop_stop()

    def _publish(self, pub: mqtt.Client, mid: str) -> None:
        code = self.generated[mid].employee_code
        pub.publish(self.topics.punch(code), self.bodies[mid], qos=1)
        self.sent_at[mid] = time.monotonic()

    def _resend(self, pub: mqtt.Client) -> None:
        if not pub.is_connected():
            return
        old = time.monotonic() - self.resend_s
        for mid in self.unanswered():
            if self.sent_at[mid] < old:
                self.resends += 1
                self._publish(pub, mid)

    def unanswered(self) -> list[str]:
        """Punches published that no receipt has answered yet."""
        with self.lock:
            return [m for m in self.generated if m not in self.receipts]

    def garbage(self, count: int) -> list[Malformed]:
        """Publish malformed phone messages (QoS 1, confirmed); each must be quarantined."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"garbage-{self.tag}")
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        infos, out = [], []
        for n in range(count):
            topic = self.topics.punch(self.codes[n % len(self.codes)])
            if n % 2:
                body = f"not json {self.tag}-{n}"
            else:  # a well-formed punch for a phone nobody registered
                topic = self.topics.punch(f"NOBODY{n}")
                doc = {"schema_version": 1, "id": f"nobody-{self.tag}-{n}", "lat": 52.52,
                       "lon": 13.405, "acc": 10, "ts": datetime.now(UTC).isoformat()}  # fmt: skip
                body = json.dumps(doc)
            infos.append(client.publish(topic, body.encode(), qos=1))
            out.append(Malformed("phone-garbage", "mobile", None, body))
        deadline = time.monotonic() + 60
        while any(not i.is_published() for i in infos) and time.monotonic() < deadline:
            time.sleep(0.1)
        client.disconnect()
        client.loop_stop()
        return out


# -- push terminals ----------------------------------------------------------------------


class FailoverPush(PushTerminalSimulator):
    """A push terminal whose requests go to one node until it stops answering, then to the
    next (what a load balancer in front of the API nodes does for it)."""

    def __init__(self, ports: list[int], first: int, serial: str, **kw: object) -> None:
        super().__init__(f"http://127.0.0.1:{ports[first]}", serial, **kw)  # type: ignore[arg-type]
        self.ports, self.at, self.failovers = ports, first, 0

    def _once(self, method: str, path: str, body: str | None, timeout: float) -> tuple[int, str]:
        try:
            return super()._once(method, path, body, timeout)
        except (OSError, http.client.HTTPException):
            # Refused (killed node) or silent (frozen node): try the next node.
            self.at = (self.at + 1) % len(self.ports)
            self.port = self.ports[self.at]
            self.failovers += 1
            raise


class PushTerminals:
    """Push terminals, each in its loop, and a punch generator across them."""

    def __init__(self, count: int, ports: list[int], gaps: Gaps, stop: threading.Event) -> None:
        # `stop` ends the terminals' loops: set it only once everything is stored.
        self.gaps, self.stop, self.rng = gaps, stop, random.Random(3)
        options: dict[str, Any] = {
            "timezone": "UTC",
            "batch_size": 200,
            "timeout": 3,
            "max_timeout": 6,
            "retry_delay": 0.2,
            "max_attempts": None,
        }
        self.sims = {
            push_code(i): FailoverPush(ports, i % len(ports), push_serial(i), seed=i, **options)
            for i in range(count)
        }
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        """Handshake and loop (upload, poll commands) once a second, each terminal."""
        for sim in self.sims.values():
            t = threading.Thread(target=self._loop, args=(sim,), daemon=True)
            self.threads.append(t)
            t.start()

    def _loop(self, sim: PushTerminalSimulator) -> None:
        try:
            sim.handshake()
            while not self.stop.is_set():
                sim.step()
                self.stop.wait(1.0)
        except SimulatorGaveUp:
            pass
        finally:
            sim.close()

    def close(self) -> None:
        """End every loop (a request retrying gives up)."""
        self.stop.set()
        for sim in self.sims.values():
            sim.stopping.set()
        for t in self.threads:
            t.join(15)

    def step(self) -> None:
        """One punch on a random push terminal."""
        i = self.rng.randrange(len(self.sims))
        sim = self.sims[push_code(i)]
        for _ in range(5):
            pin = push_pin(i, self.rng.randrange(20))
            when = sim.local_now()
            if self.gaps.free(pin, when):
                sim.punch(pin, when, status=self.rng.choice((0, 1)))
                return

    def pending(self) -> int:
        """Records the server has not said OK for."""
        return sum(len(s.pending) for s in self.sims.values())

    def failovers(self) -> int:
        """Requests that went to another node because theirs did not answer."""
        return sum(s.failovers for s in self.sims.values())

    def generated(self) -> list[Generated]:
        """Every push punch under its ledger id."""
        return [
            Generated("push", record_id("push", code, r.pin, r.when), r.pin, utc_epoch(r.when))
            for code, sim in self.sims.items()
            for r in list(sim.ledger.generated)
        ]

    def garbage(self, tag: str, port: int) -> list[Malformed]:
        """An ATTLOG upload with two unreadable lines from each push terminal."""
        out = []
        for i, sim in enumerate(self.sims.values()):
            code = push_code(i)
            lines = [f"garbage {tag}-{i} from a confused terminal",
                     f"{push_pin(i, 0)}\t2026-13-45 25:00:00\t0\t15\t{tag}"]  # fmt: skip
            out += [Malformed(f"push:{code}", "push", code, line) for line in lines]
            body = ("\n".join(lines) + "\n").encode()
            path = f"/iclock/cdata?SN={sim.serial}&table=ATTLOG"
            for _ in range(60):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
                    resp = conn.getresponse()
                    ok = resp.status == 200 and resp.read().decode().startswith("OK")
                    conn.close()
                    if ok:
                        break
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(1)
        return out


def push_code(i: int) -> str:
    """Device code of push terminal i."""
    return f"push-{i + 1:02d}"


def push_serial(i: int) -> str:
    """Serial number of push terminal i."""
    return f"FLEETPUSH{i + 1:04d}"


def push_pin(i: int, j: int) -> str:
    """PIN j on push terminal i (employee codes of their own)."""
    return str(30_000 + 100 * i + j)


# -- HR readers --------------------------------------------------------------------------


def reader_paths(today: date, phone_codes: list[str], employee_ids: int) -> list[str]:
    """The pages HR reads: punch list, one employee's month, lateness, attendance, devices."""
    first = today.replace(day=1).isoformat()
    span = f"from={first}&to={today.isoformat()}"
    return [
        "/punches?limit=100&order=desc",
        f"/punches?employee_code={phone_codes[0]}&since={first}",
        f"/reports/lateness?{span}",
        f"/reports/attendance?{span}",
        f"/reports/employee-day?employee_id={min(employee_ids, 7)}&date={today.isoformat()}",
        "/reports/devices",
        "/quarantine/counts",
    ]


class HrReaders:
    """GETs of HR pages against the nodes up at the time (as a load balancer's health check
    would pick), one request after another; every request is kept as a `Read`."""

    def __init__(
        self, nodes: Callable[[], list[tuple[str, int]]], paths: list[str], token: str
    ) -> None:
        self.nodes, self.paths = nodes, paths
        self.headers = {"Authorization": f"Bearer {token}"}
        self.reads: list[Read] = []

    def run(self, stop: threading.Event, pause_s: float) -> None:
        """Read until `stop`."""
        n = 0
        while not stop.wait(pause_s):
            up = self.nodes()
            if not up:
                continue
            name, port = up[n % len(up)]
            path = self.paths[n % len(self.paths)]
            n += 1
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=self.headers)
            start = time.time()
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
                    status = int(r.status)
            except urllib.error.HTTPError as exc:
                status = int(exc.code)
            except OSError:
                status = 0
            self.reads.append(Read(name, path, start, time.time(), status))
