"""Simulated phones: people commuting into a fence, punching natively or via OwnTracks.

Each phone walks a day: from home (1–4 km away) towards the site at city speed, punches in
on arrival (native `in`, or an OwnTracks `enter` transition), jitters at its desk, punches
out and heads home. Some phones go offline for a while and then deliver a burst of old
messages; some spoof (mock flag, frozen coordinates, or teleporting).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devices.mobile.topics import Topics

EARTH_M_PER_DEG = 111_320.0
PROTOCOLS = {"5": MQTTProtocolVersion.MQTTv5, "3.1.1": MQTTProtocolVersion.MQTTv311}


class BrokerRefused(ConnectionError):
    """The broker did not accept a connection in any protocol version tried."""


@dataclass
class SimPhone:
    """One simulated phone and where it is in its day."""

    code: str
    owntracks_user: str | None  # None: the native punchgate app
    home: tuple[float, float]
    spoof: str | None = None  # "mock", "frozen" or "teleport"
    pos: tuple[float, float] = (0.0, 0.0)
    phase: str = "commute"  # commute, desk, home
    desk_ticks: int = 0
    offline_ticks: int = 0
    backlog: list[tuple[str, bytes]] = field(default_factory=list)


def _step(a: tuple[float, float], b: tuple[float, float], metres: float) -> tuple[float, float]:
    dy = (b[0] - a[0]) * EARTH_M_PER_DEG
    dx = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians(a[0]))
    dist = math.hypot(dx, dy)
    if dist <= metres:
        return b
    f = metres / dist
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (b[0] - a[0]) * EARTH_M_PER_DEG
    dx = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


class _Connack:
    """The broker's answer to one CONNECT: accepted, or refused or hung up on."""

    def __init__(self) -> None:
        self.answered, self.accepted = threading.Event(), threading.Event()

    def on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            self.accepted.set()
        self.answered.set()

    def on_disconnect(self, *_args: Any) -> None:
        self.answered.set()


class PhoneSimulator:
    """Publishes realistic phone traffic until stopped.

    `rate` counts phone steps a second (`pace="step"`: a step may send nothing, or a burst),
    or messages a second (`pace="message"`: steps that send nothing take no time).
    """

    name = "phone-simulator"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        topics: Topics,
        codes: list[str],
        site: tuple[float, float, float],
        rate: float = 5.0,
        pace: Literal["step", "message"] = "step",
        protocol: str = "3.1.1",
        username: str | None = "simulator",
        region: str = "hq",
        seed: int = 1,
        owntracks: bool = True,
        spoofing: bool = True,
        home_km: tuple[float, float] = (1.0, 4.0),
        active: Callable[[], bool] | None = None,
    ) -> None:
        self.topics = topics
        self.site = (site[0], site[1])
        self.radius = site[2]
        self.rate, self.pace = rate, pace
        self.active = active  # when given, phones move only while it says so (office hours)
        self.region = region
        self.rng = random.Random(seed)
        self.published = 0
        self.owntracks, self.spoofing, self.home_km = owntracks, spoofing, home_km
        # Every native punch generated, for soak accounting: (employee code, ts, message id).
        self.ledger: list[tuple[str, datetime, str]] = []
        self.acked = 0  # messages the broker acknowledged (PUBACK with a success code)
        self.refused = 0  # messages the broker answered with a failure code (MQTT 5)
        self.phones = [self._phone(i, code) for i, code in enumerate(codes)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._where = (host, port)
        self._username = username
        self.protocol = protocol
        self.client = self._client(protocol)

    def _client(self, protocol: str) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"phone-sim-{uuid.uuid4().hex[:8]}",
            protocol=PROTOCOLS[protocol],
        )
        if self._username:
            client.username_pw_set(self._username)
        client.max_inflight_messages_set(100)
        client.on_publish = self._on_publish
        return client

    def _phone(self, i: int, code: str) -> SimPhone:
        bearing = self.rng.uniform(0, 2 * math.pi)
        km = self.rng.uniform(*self.home_km)
        home = (
            self.site[0] + km * 1000 * math.cos(bearing) / EARTH_M_PER_DEG,
            self.site[1]
            + km
            * 1000
            * math.sin(bearing)
            / (EARTH_M_PER_DEG * math.cos(math.radians(self.site[0]))),
        )
        spoof = ("mock", "frozen", "teleport")[i // 7 % 3] if i % 7 == 6 else None
        user = f"user{code}" if i % 2 and self.owntracks else None
        spoof = spoof if self.spoofing else None
        return SimPhone(code, user, home, spoof, pos=home)

    def connect(self, timeout: float = 3.0) -> str:
        """Connect and wait for the broker's CONNACK; returns the protocol version it accepted.

        A broker that speaks only MQTT 3.1.1 (amqtt, the embedded one) drops an MQTT 5
        CONNECT without an answer, so an unanswered MQTT 5 attempt is retried as 3.1.1.
        """
        tried = [self.protocol] + (["3.1.1"] if self.protocol == "5" else [])
        for protocol in tried:
            if protocol != self.protocol:
                self.client, self.protocol = self._client(protocol), protocol
            connack = _Connack()
            self.client.on_connect = connack.on_connect
            self.client.on_disconnect = connack.on_disconnect
            try:
                self.client.connect(*self._where)
            except OSError as exc:
                raise BrokerRefused(f"cannot reach the MQTT broker at {self.where}: {exc}") from exc
            self.client.loop_start()
            # A probe gives up soon; the last version tried waits as a busy broker may need.
            connack.answered.wait(timeout if protocol != tried[-1] else max(timeout, 15.0))
            if connack.accepted.is_set():
                self.client.on_disconnect = None
                return protocol
            self.client.disconnect()
            self.client.loop_stop()
        versions = " or ".join(f"MQTT {p}" for p in tried)
        raise BrokerRefused(f"the MQTT broker at {self.where} did not accept {versions}")

    @property
    def where(self) -> str:
        """host:port of the broker."""
        return f"{self._where[0]}:{self._where[1]}"

    def start(self) -> None:
        """Connect and publish in a background thread."""
        self.connect()
        self._thread = threading.Thread(target=self._run, name="phone-simulator", daemon=True)
        self._thread.start()

    def stop(self, *, drain_s: float = 0.0) -> None:
        """Stop publishing, send what offline phones held back, and disconnect.

        With `drain_s`, wait up to that long for the broker to acknowledge every message.
        """
        self.pause()
        self.flush_backlogs()
        deadline = time.monotonic() + drain_s
        while self.unacked() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.client.disconnect()
        self.client.loop_stop()

    def pause(self) -> None:
        """Stop generating traffic (the connection stays up)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def flush_backlogs(self) -> None:
        """Publish what phones held back while offline (they came back into coverage)."""
        for phone in self.phones:
            for topic, body in phone.backlog:
                self._publish(topic, body)
            phone.backlog.clear()
            phone.offline_ticks = 0

    def unacked(self) -> int:
        """Messages published at QoS 1 the broker has not answered yet."""
        return self.published - self.acked - self.refused

    def _on_publish(self, _c: mqtt.Client, _u: Any, _mid: int, rc: Any, _p: Any) -> None:
        # Only paho's network thread calls this, so the counters have one writer.
        if rc.is_failure:
            self.refused += 1
        else:
            self.acked += 1

    def _publish(self, topic: str, body: bytes) -> None:
        # Queued by paho even while disconnected, and sent once the connection is back.
        self.client.publish(topic, body, qos=1)
        self.published += 1

    def run_for(self, seconds: float, *, drain_s: float = 10.0) -> None:
        """Publish for `seconds` in the calling thread, then wait up to `drain_s` for acks."""
        self.connect()
        self._stop.clear()
        timer = threading.Timer(seconds, self._stop.set)
        timer.start()
        try:
            self._run()
        finally:
            timer.cancel()
            deadline = time.monotonic() + drain_s
            while self.unacked() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.client.disconnect()
            self.client.loop_stop()

    def _run(self) -> None:
        interval = 1.0 / self.rate if self.rate > 0 else 1.0
        next_at = time.monotonic()
        silent = 0  # steps in a row that sent nothing
        while not self._stop.is_set():
            if self.active is not None and not self.active():
                self._stop.wait(interval)
                next_at = time.monotonic()
                continue
            before = self.published
            self.tick(self.rng.choice(self.phones), datetime.now(UTC))
            sent = self.published - before
            if self.pace == "step":
                next_at += interval
            else:
                # A step that sends two (a location and a punch, or a burst held back
                # offline) waits as long as two messages; a whole round of phones that
                # sent nothing waits one, so quiet phones do not spin the loop.
                silent = 0 if sent else silent + 1
                if sent == 0 and silent < len(self.phones):
                    continue
                next_at += interval * max(1, sent)
                silent = 0
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def tick(self, phone: SimPhone, now: datetime) -> None:
        """Advance one phone by one step and publish what it would send."""
        out: list[tuple[str, bytes]] = []
        fix = self._move(phone)
        inside = _dist(fix, self.site) <= self.radius * 0.8
        if phone.phase == "commute" and inside:
            phone.phase, phone.desk_ticks = "desk", self.rng.randint(5, 15)
            out.append(self._punch(phone, fix, now, "in"))
        elif phone.phase == "desk":
            phone.desk_ticks -= 1
            if phone.desk_ticks <= 0:
                phone.phase = "home"
                out.append(self._punch(phone, fix, now, "out"))
        elif phone.phase == "home" and _dist(fix, phone.home) < 50:
            phone.phase = "commute"
        if phone.owntracks_user:
            out.append(self._location(phone, fix, now))
        if phone.offline_ticks == 0 and self.rng.random() < 0.02:
            phone.offline_ticks = self.rng.randint(3, 10)  # a tunnel, a dead zone
        if phone.offline_ticks > 0:
            phone.offline_ticks -= 1
            phone.backlog.extend(out)
            return
        for topic, body in [*phone.backlog, *out]:
            self._publish(topic, body)
        phone.backlog.clear()

    def _move(self, phone: SimPhone) -> tuple[float, float]:
        if phone.spoof == "frozen" and phone.phase != "commute":
            return phone.pos
        if phone.phase == "desk":
            jitter = (
                self.rng.gauss(0, 8) / EARTH_M_PER_DEG,
                self.rng.gauss(0, 8) / EARTH_M_PER_DEG,
            )
            return (self.site[0] + jitter[0], self.site[1] + jitter[1])
        target = self.site if phone.phase == "commute" else phone.home
        step = 2000.0 if phone.spoof == "teleport" else self.rng.uniform(200, 600)
        phone.pos = _step(phone.pos, target, step)
        return phone.pos

    def _punch(
        self, phone: SimPhone, fix: tuple[float, float], now: datetime, kind: str
    ) -> tuple[str, bytes]:
        acc = round(self.rng.uniform(5, 40), 1)
        if phone.owntracks_user:
            event = "enter" if kind == "in" else "leave"
            body: dict[str, Any] = {
                "_type": "transition", "event": event, "desc": self.region,
                "tst": int(now.timestamp()), "wtst": 1_700_000_000,
                "lat": round(fix[0], 6), "lon": round(fix[1], 6), "acc": acc, "t": "c",
            }  # fmt: skip
            topic = self.topics.owntracks_event(phone.owntracks_user, "phone")
        else:
            body = {
                "schema_version": 1, "id": uuid.uuid4().hex, "ts": now.isoformat(),
                "lat": round(fix[0], 7), "lon": round(fix[1], 7), "acc": acc, "kind": kind,
                "mock": phone.spoof == "mock", "device": f"sim-{phone.code}", "app_version": "1.0",
            }  # fmt: skip
            topic = self.topics.punch(phone.code)
            self.ledger.append((phone.code, now, body["id"]))
        return topic, json.dumps(body).encode()

    def _location(
        self, phone: SimPhone, fix: tuple[float, float], now: datetime
    ) -> tuple[str, bytes]:
        assert phone.owntracks_user is not None
        tst = int((now - timedelta(seconds=self.rng.randint(0, 5))).timestamp())
        body = {
            "_type": "location", "lat": round(fix[0], 6), "lon": round(fix[1], 6), "tst": tst,
            "acc": round(self.rng.uniform(5, 40)), "_id": uuid.uuid4().hex[:8],
            "tid": phone.code[-2:], "t": "t", "conn": "m", "batt": self.rng.randint(20, 100),
        }  # fmt: skip
        return self.topics.owntracks(phone.owntracks_user, "phone"), json.dumps(body).encode()
