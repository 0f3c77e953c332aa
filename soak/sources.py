"""The soak's traffic: pull terminals, push terminals, phones, garbage and API readers.

Each source keeps its own ledger (the emulator's `Terminal.ledger`, the push simulator's
`Ledger.generated`, the phone simulator's `ledger`, a Hikvision or Dahua terminal's
`VendorTerminal.ledger`); `Sources.generated()` reads them all
as `Generated` entries, each under a ledger id of its own (see `soak.ledger`). Nobody
punches twice in one second: the generators skip a person whose last punch on that clock
is under MIN_GAP_S ago.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.mobile.simulator import PhoneSimulator
from devices.mobile.topics import Topics
from devices.zk.emulator.fleet import FleetSpec, build_terminal
from devices.zk.emulator.server import EmulatorHost
from devices.zk.emulator.terminal import Terminal, TerminalSpec
from devices.zk.push.simulator import PushTerminalSimulator, SimulatorGaveUp
from soak.agent import agent_code
from soak.ledger import Generated, Malformed, message_id, record_id
from soak.vendors import VendorTerminal, build

TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)
SITE = (52.5200, 13.4050, 200.0)
MIN_GAP_S = 3
ZK_USERS, PUSH_PINS = 10, 20


def zk_code(i: int) -> str:
    """Device code of pull terminal i."""
    return f"zk-{i + 1:02d}"


def push_code(i: int) -> str:
    """Device code of push terminal i."""
    return f"push-{i + 1}"


def local_to_epoch(naive: datetime) -> int:
    """A terminal's naive local time as UTC epoch seconds."""
    return int(naive.replace(tzinfo=ZONE).timestamp())


@dataclass
class Plan:
    """Sizes and rates of the traffic."""

    terminals: int = 50
    live: int = 10
    udp: int = 5
    push: int = 5
    phones: int = 500
    phone_connections: int = 5
    zk_rate: float = 8.0  # terminal punches a second, all terminals together
    push_rate: float = 2.0
    phone_ticks: float = 40.0  # phone steps a second (a punch every ~6–10 steps per phone)
    hik: int = 3  # Hikvision terminals (ISAPI, polled)
    dahua: int = 3  # Dahua controllers (CGI; the first holds its event stream)
    vendor_rate: float = 2.0  # their punches a second, all together
    agent_terminals: int = 0  # ZK terminals behind the site agent (0: none; the CLI says 2)
    history: int = 30  # punches already on each terminal before the service first polls it
    poll_interval_s: float = 5.0


@dataclass
class Sources:
    """Everything that generates traffic, with its ledgers."""

    plan: Plan
    host: EmulatorHost = field(default_factory=EmulatorHost)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    push: dict[str, PushTerminalSimulator] = field(default_factory=dict)
    push_paused: set[str] = field(default_factory=set)
    phones: list[PhoneSimulator] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(9))
    stop_event: threading.Event = field(default_factory=threading.Event)
    generating: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    vendors: dict[str, VendorTerminal] = field(default_factory=dict)
    vendor_away: set[str] = field(default_factory=set)  # sources refusing logins on purpose
    behind_agent: dict[str, Terminal] = field(default_factory=dict)  # read by the site agent
    last: dict[str, datetime] = field(default_factory=dict)
    readers: Counter[str] = field(default_factory=Counter)

    # -- set-up -------------------------------------------------------------------------

    def start_terminals(self) -> None:
        """Start the emulated pull terminals with a few days' punches already on them."""
        self.host.start()
        zk = [(zk_code(i), i, 10_000 + 100 * i, self.terminals) for i in range(self.plan.terminals)]
        zk += [
            (agent_code(i), 90 + i, 50_000 + 100 * i, self.behind_agent)
            for i in range(self.plan.agent_terminals)
        ]
        for code, i, first, into in zk:
            fleet = FleetSpec(
                records=0,
                users=ZK_USERS,
                first_code=first,
                seed=100 + i,
                spec=TerminalSpec(timezone=TZ, serial=f"SOAK{i + 1:05d}0000"),
            )
            term = build_terminal(fleet, i)
            into[code] = term
            self.ports[code] = self.host.add(term, 0)
            start = term.now() - timedelta(days=2)
            for n in range(self.plan.history):
                user = term.users[n % len(term.users)]
                term.punch(
                    user.user_id, state=n % 2, verify=15, when=start + timedelta(minutes=37 * n)
                )
        self._start_vendors()

    def _start_vendors(self) -> None:
        """Hikvision and Dahua terminals with the same history as the ZK ones."""
        kinds = [("hik", i) for i in range(self.plan.hik)]
        kinds += [("dahua", i) for i in range(self.plan.dahua)]
        for kind, i in kinds:
            term = build(kind, i, TZ, live=kind == "dahua" and i == 0)
            self.vendors[term.code] = term
            self.ports[term.code] = term.start()
            start = term.now() - timedelta(days=2)
            for n in range(self.plan.history):
                when = start + timedelta(minutes=37 * n)
                term.punch(term.users[n % len(term.users)], when, n % 2)
                if n % 3 == 0:
                    term.noise(when + timedelta(seconds=1))

    def config_devices(self) -> list[dict[str, object]]:
        """Device entries for the service's configuration file."""
        out: list[dict[str, object]] = []
        for i, code in enumerate(self.terminals):
            live = i < self.plan.live
            options: dict[str, object] = {"interval_s": self.plan.poll_interval_s, "timeout_s": 3}
            if live:
                options.update(live=True, live_window_s=1.0)
            transport = "udp" if self.plan.live <= i < self.plan.live + self.plan.udp else "tcp"
            where = {"host": "127.0.0.1", "port": self.ports[code], "transport": transport}
            out.append({"code": code, "kind": "zk", "site": "hq", **where, "options": options})
        for i in range(self.plan.push):
            out.append({"code": push_code(i), "kind": "push", "site": "hq",
                        "serial": f"SOAKPUSH{i + 1:04d}"})  # fmt: skip
        for code, term in self.vendors.items():
            out.append(term.config(self.ports[code], self.plan.poll_interval_s))
        for code in self.behind_agent:
            # The agent polls every two seconds (its own interval); the centre never does.
            where = {"host": "127.0.0.1", "port": self.ports[code], "transport": "tcp"}
            out.append({"code": code, "kind": "zk", "site": "hq", **where,
                        "options": {"interval_s": 2.0, "timeout_s": 3}})  # fmt: skip
        return out

    def employee_codes(self) -> list[str]:
        """Every person any source punches for."""
        zk = [*self.terminals.values(), *self.behind_agent.values()]
        codes = [u.user_id for t in zk for u in t.users]
        codes += [self.push_pin(i, j) for i in range(self.plan.push) for j in range(PUSH_PINS)]
        codes += [u for t in self.vendors.values() for u in t.users]
        codes += self.phone_codes()
        return codes

    @staticmethod
    def push_pin(i: int, j: int) -> str:
        """PIN j on push terminal i."""
        return str(20_000 + 100 * i + j)

    def phone_codes(self) -> list[str]:
        """Employee codes carried by phones."""
        return [f"P{n:04d}" for n in range(1, self.plan.phones + 1)]

    def start_push(self, base_url: str) -> None:
        """Start the push terminal simulators, each in its loop."""
        for i in range(self.plan.push):
            sim = PushTerminalSimulator(
                base_url, f"SOAKPUSH{i + 1:04d}", timezone=TZ, batch_size=200, timeout=10,
                max_timeout=30, retry_delay=0.2, max_attempts=None, seed=i,
            )  # fmt: skip
            self.push[push_code(i)] = sim
            self._thread(self._push_loop, push_code(i), sim)

    def _push_loop(self, code: str, sim: PushTerminalSimulator) -> None:
        with contextlib.suppress(SimulatorGaveUp):
            sim.handshake()
            while not self.stop_event.is_set():
                if code not in self.push_paused:
                    sim.step()
                self.stop_event.wait(1.0)
        sim.close()

    def start_phones(self, broker_port: int, topics: Topics) -> None:
        """Start the phone simulators: many phones over a few MQTT connections."""
        codes = self.phone_codes()
        n = self.plan.phone_connections
        for k in range(n):
            sim = PhoneSimulator(
                host="127.0.0.1", port=broker_port, topics=topics, codes=codes[k::n], site=SITE,
                rate=self.plan.phone_ticks / n, username=None, seed=50 + k, owntracks=False,
                spoofing=False, home_km=(0.3, 0.9),
            )  # fmt: skip
            sim.client.reconnect_delay_set(1, 4)
            self.phones.append(sim)
            sim.start()

    def start_generators(self) -> None:
        """Start punching on the terminals and push terminals."""
        self.generating.set()
        self._thread(self._punch_loop, "zk", self.plan.zk_rate, self._zk_punch)
        self._thread(self._punch_loop, "push", self.plan.push_rate, self._push_punch)
        if self.vendors:
            self._thread(self._punch_loop, "vendors", self.plan.vendor_rate, self._vendor_punch)
            self._thread(self._disarm_loop)

    def _thread(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self.threads.append(thread)
        thread.start()

    # -- generation --------------------------------------------------------------------

    def _punch_loop(self, _name: str, rate: float, punch: object) -> None:
        interval = 1.0 / rate
        next_at = time.monotonic()
        while self.generating.is_set() and not self.stop_event.is_set():
            punch()  # type: ignore[operator]
            next_at += interval
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))

    def _free(self, key: str, now: datetime) -> bool:
        last = self.last.get(key)
        if last is not None and abs((now - last).total_seconds()) < MIN_GAP_S:
            return False
        self.last[key] = now
        return True

    def _zk_punch(self) -> None:
        code = self.rng.choice([*self.terminals, *self.behind_agent])
        term = self.terminals.get(code) or self.behind_agent[code]
        for _ in range(5):
            user = self.rng.choice(term.users)
            when = term.now()
            if self._free(user.user_id, when):
                term.punch(user.user_id, state=self.rng.choice((0, 1, 2, 3)), verify=15, when=when)
                return

    def _push_punch(self) -> None:
        i = self.rng.randrange(len(self.push))
        sim = self.push[push_code(i)]
        for _ in range(5):
            pin = self.push_pin(i, self.rng.randrange(PUSH_PINS))
            when = sim.local_now()
            if self._free(pin, when):
                sim.punch(pin, when, status=self.rng.choice((0, 1)))
                return

    def _vendor_punch(self) -> None:
        term = self.vendors[self.rng.choice(list(self.vendors))]
        for _ in range(5):
            user = self.rng.choice(term.users)
            when = term.now()
            if self._free(user, when):
                term.punch(user, when, self.rng.choice((0, 1)))
                if self.rng.random() < 0.3:  # the door opens after the face is matched
                    term.noise(when)
                return

    def _disarm_loop(self) -> None:
        # Dropped-link switches stay armed in the emulators: disarm each once it fired.
        while not self.stop_event.wait(0.1):
            for term in self.vendors.values():
                term.disarm_fired()

    def stop_generating(self) -> None:
        """No new punches; phones send what they held back."""
        self.generating.clear()
        for sim in self.phones:
            sim.pause()
            sim.flush_backlogs()

    # -- malformed input ---------------------------------------------------------------

    def zk_impossible(self, codes: list[str]) -> None:
        """A record dated 31 February on each of these terminals (once per terminal)."""
        for code in codes:
            term = self.terminals[code]
            if term.malformed:
                continue
            term.add_impossible_record(term.users[-1].user_id)
            self.malformed.append(Malformed(f"zk:{code}", "terminal", code, None))

    def vendor_codes(self) -> tuple[list[str], list[str]]:
        """The Hikvision and the Dahua terminals' codes."""
        hik = [c for c, t in self.vendors.items() if t.kind == "hik"]
        return hik, [c for c, t in self.vendors.items() if t.kind == "dahua"]

    def vendor_malformed(self, codes: list[str]) -> None:
        """An event on each of these Hikvision or Dahua terminals that must be quarantined."""
        for code in codes:
            term = self.vendors[code]
            raw = term.malformed(term.users[-1])
            self.malformed.append(Malformed(term.source, "terminal", code, raw))

    def mqtt_garbage(self, port: int, topics: Topics, count: int, tag: str) -> None:
        """Publish `count` malformed phone messages (QoS 1) and wait for the broker's PUBACKs."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-garbage-{tag}")
        client.connect("127.0.0.1", port)
        client.loop_start()
        infos = []
        stamp = datetime.now(UTC).isoformat()
        for n in range(count):
            code = f"P{n % self.plan.phones + 1:04d}"
            topic = topics.punch(code)
            kind = n % 4
            if kind == 0:
                body = f"\xffnot json {tag}-{n}".encode("latin-1")
            elif kind == 1:
                doc = {"schema_version": 1, "id": f"bad-ts-{tag}-{n}", "ts": "yesterday"}
                body = json.dumps({**doc, "lat": SITE[0], "lon": SITE[1], "acc": 10}).encode()
            elif kind == 2:
                body = json.dumps({"schema_version": 7, "id": f"v7-{tag}-{n}"}).encode()
            else:
                topic = topics.punch(f"NOBODY{n}")
                doc = {"schema_version": 1, "id": f"nobody-{tag}-{n}", "ts": stamp}
                body = json.dumps({**doc, "lat": SITE[0], "lon": SITE[1], "acc": 10}).encode()
            infos.append(client.publish(topic, body, qos=1))
            raw = body.decode("utf-8", "replace")
            self.malformed.append(Malformed("mqtt-garbage", "mobile", None, raw))
        deadline = time.monotonic() + 60
        while any(not i.is_published() for i in infos) and time.monotonic() < deadline:
            time.sleep(0.1)
        client.disconnect()
        client.loop_stop()

    def push_garbage(self, base_url: str, count: int, tag: str) -> None:
        """Upload ATTLOG bodies with garbage lines from each push terminal, until answered OK."""
        host, port = base_url.removeprefix("http://").split(":")
        for i, sim in enumerate(self.push.values()):
            lines = []
            for n in range(count):
                if n % 2:
                    line = f"garbage {tag}-{i}-{n} from a confused terminal"
                else:
                    line = f"{self.push_pin(i, 0)}\t2026-13-45 25:{n % 60:02d}:00\t0\t15\t{tag}{n}"
                lines.append(line)
                code = push_code(i)
                self.malformed.append(Malformed(f"push:{code}", "push", code, line))
            body = "\n".join(lines) + "\n"
            path = f"/iclock/cdata?SN={sim.serial}&table=ATTLOG"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                    conn.request(
                        "POST", path, body=body.encode(), headers={"Content-Type": "text/plain"}
                    )
                    resp = conn.getresponse()
                    text = resp.read().decode()
                    conn.close()
                    if resp.status == 200 and text.startswith("OK"):
                        break
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.5)

    # -- readers -------------------------------------------------------------------------

    def start_readers(self, base_url: str, paths: list[str], headers: dict[str, str]) -> None:
        """API readers: each path read every half second; answers counted by status."""
        for path in paths:
            self._thread(self._reader, base_url, path, headers)

    def _reader(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        while not self.stop_event.wait(0.5):
            req = urllib.request.Request(base_url + path, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    r.read()
                    self.readers[f"{path} {r.status}"] += 1
            except urllib.error.HTTPError as exc:
                self.readers[f"{path} {exc.code}"] += 1
            except OSError:
                self.readers[f"{path} unreachable"] += 1

    # -- ledgers -------------------------------------------------------------------------

    def generated(self) -> list[Generated]:
        """Every punch every source generated, under its ledger id."""
        out: list[Generated] = []
        zk = [(f"zk:{c}", c, t) for c, t in self.terminals.items()]
        zk += [(f"agent:{c}", c, t) for c, t in self.behind_agent.items()]
        for source, code, term in zk:
            with term.lock:
                entries = list(term.ledger)
            out += [
                Generated(source, record_id("terminal", code, u, w), u, local_to_epoch(w))
                for u, w in entries
            ]
        for code, sim in self.push.items():
            for r in list(sim.ledger.generated):
                key = record_id("push", code, r.pin, r.when)
                out.append(Generated(f"push:{code}", key, r.pin, local_to_epoch(r.when)))
        for vendor in self.vendors.values():
            with vendor.lock:
                punches = list(vendor.ledger)
            out += [
                Generated(
                    vendor.source,
                    record_id("terminal", vendor.code, u, w.replace(tzinfo=None)),
                    u,
                    int(w.timestamp()),
                )
                for u, w in punches
            ]
        for phones in self.phones:
            out += [
                Generated("phones", message_id(mid), c, int(ts.timestamp()))
                for c, ts, mid in list(phones.ledger)
            ]
        return out

    def counts(self) -> dict[str, int]:
        """How many punches each source has generated so far."""
        out = {f"zk:{c}": len(t.ledger) for c, t in self.terminals.items()}
        out.update({f"agent:{c}": len(t.ledger) for c, t in self.behind_agent.items()})
        out.update({f"push:{c}": len(s.ledger.generated) for c, s in self.push.items()})
        out.update({t.source: len(t.ledger) for t in self.vendors.values()})
        out["phones"] = sum(len(s.ledger) for s in self.phones)
        return out

    def phones_unacked(self) -> int:
        """Phone messages the broker has not acknowledged."""
        return sum(s.unacked() for s in self.phones)

    def push_pending(self) -> int:
        """Push records the server has not said OK for."""
        return sum(len(s.pending) for s in self.push.values())

    def close(self) -> None:
        """Stop every thread, simulator and emulator."""
        self.generating.clear()
        self.stop_event.set()
        for sim in self.push.values():
            sim.stopping.set()
        for phone in self.phones:
            with contextlib.suppress(Exception):
                phone.stop()
        for thread in self.threads:
            thread.join(timeout=15)
        self.host.stop()
        for term in self.vendors.values():
            term.stop()
