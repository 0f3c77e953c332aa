"""The soak's Hikvision (ISAPI) and Dahua (CGI) terminals: emulators, punches, ledgers, faults.

Each `VendorTerminal` wraps one emulator from `devices/` and keeps its own ledger: the
person and the terminal's local time of every punch it was given (the ledger id is the
same as a ZK terminal's, read back from the stored row's UTC instant and zone). Door and
failed-verification events go between the punches; the poller must move its cursor past
them without storing them. The fault switches are the emulators' own; the two that stay
armed once set (a dropped link after N pages, the Dahua stream dropping after N events)
are disarmed here once they have fired, as the ZK emulator's switch resets itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.dahua.emulator import DahuaController, DahuaEmulator
from devices.hikvision.emulator import HikEmulator, HikTerminal
from soak.monitor import Fault, Monitor

Action = tuple[float, str, Callable[[], None]]  # (fraction of the run, name, what it does)

PASSWORD = "soak-vendor-2026"  # both emulators' admin password, given to the service sealed
USERS = 10  # people enrolled on each terminal
HIK_PAGE = 3  # events asked per search page: a backlog spans several pages
DAHUA_PAGE = 10  # records asked per search page, for the same reason
DAHUA_OVERLAP_S = 60  # each Dahua read starts this far before the newest record read


def hik_code(i: int) -> str:
    """Device code of Hikvision terminal i."""
    return f"hik-{i + 1}"


def dahua_code(i: int) -> str:
    """Device code of Dahua controller i."""
    return f"dahua-{i + 1}"


@dataclass
class VendorTerminal:
    """One emulated Hikvision or Dahua terminal with the punches the soak gave it."""

    code: str
    kind: str  # the device kind in the configuration: "hik" or "dahua"
    users: list[str]
    live: bool = False  # a Dahua controller whose event stream the service holds
    ledger: list[tuple[str, datetime]] = field(default_factory=list)  # person, aware local
    last_number: int = 0  # newest serialNo / RecNo given out
    armed_drop: int | None = None  # the request count after which the link drops
    drops_fired: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    hik: HikTerminal | None = None
    dahua: DahuaController | None = None
    server: HikEmulator | DahuaEmulator | None = None

    @property
    def source(self) -> str:
        """The soak's source key (`hik:hik-1`)."""
        return f"{self.kind}:{self.code}"

    def start(self) -> int:
        """Serve on a free loopback port; returns it."""
        if self.hik is not None:
            self.server = HikEmulator(self.hik, 0)
        else:
            assert self.dahua is not None
            self.server = DahuaEmulator(self.dahua, 0)
        self.server.start()
        return self.server.port

    def stop(self) -> None:
        """Close the port."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def now(self) -> datetime:
        """The terminal's clock (aware, its zone, its skew)."""
        return self.hik.now() if self.hik is not None else self._dahua().now()

    def _dahua(self) -> DahuaController:
        assert self.dahua is not None
        return self.dahua

    def punch(self, user: str, when: datetime, state: int) -> None:
        """A passed face verification, entered in the ledger; `state` 0 in, 1 out."""
        when = when.replace(microsecond=0)
        with self.lock:
            if self.hik is not None:
                status = "checkIn" if state == 0 else "checkOut"
                number = self.hik.add_event(when, minor=75, employee=user, status=status)
                self.last_number = int(number["serialNo"])
            else:
                record = self._dahua().add_record(when, user=user, method=15, state=1 + 3 * state)
                self.last_number = int(record["RecNo"])
            self.ledger.append((user, when))

    def noise(self, when: datetime) -> None:
        """An event that is no punch: a door unlocked, or the exit button."""
        with self.lock:
            if self.hik is not None:
                self.last_number = int(self.hik.add_event(when, minor=21)["serialNo"])
            else:
                record = self._dahua().add_record(when, method=5, door_type="Exit")
                self.last_number = int(record["RecNo"])

    def malformed(self, user: str) -> str:
        """One event the terminal cannot have meant, followed by a door event; its raw text.

        Hikvision: a punch dated 31 February. Dahua: a record whose Method is not a number.
        The raw text is what the poller keeps in quarantine for it.
        """
        when = self.now()
        with self.lock:
            if self.hik is not None:
                event = self.hik.add_event(when, minor=75, employee=user, status="checkIn")
                with self.hik.lock:
                    offset = when.isoformat(timespec="seconds")[19:]
                    event["time"] = f"{when.year}-02-31T08:00:00{offset}"
                raw = json.dumps(event)[:4000]
            else:
                record = self._dahua().add_record(when, user=user, method=15, state=1)
                with self._dahua().lock:
                    record["Method"] = "face"
                fields = {k: str(v).strip() for k, v in sorted(record.items())}
                raw = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)[:4000]
        # A later event moves the cursor past the bad one, so it is offered to the store once.
        self.noise(when)
        return raw

    # -- fault switches -----------------------------------------------------------------

    def requests(self) -> int:
        """Event searches served or refused so far (the switches count these)."""
        return self.hik.searches if self.hik is not None else self._dahua().finds

    def refuse_logins(self, refused: bool) -> None:
        """Refuse every Digest login (a changed password) or accept them again."""
        faults = self.hik.faults if self.hik is not None else self._dahua().faults
        faults.wrong_password = refused

    def drop_after_next_page(self) -> None:
        """The next search page is served; the link drops instead of the one after."""
        with self.lock:
            self.armed_drop = self.requests() + 1
            self._set_drop(self.armed_drop)

    def _set_drop(self, after: int | None) -> None:
        if self.hik is not None:
            self.hik.faults.drop_after_pages = after
        else:
            self._dahua().faults.drop_after_pages = after

    def garble_next_reply(self) -> None:
        """The next search reply is cut short (fires once by itself)."""
        if self.hik is not None:
            self.hik.faults.garble_search = self.hik.searches + 1
        else:
            self._dahua().faults.garble_find = self._dahua().finds + 1

    def garble_fired(self) -> bool:
        """The garbled reply has gone out."""
        if self.hik is not None:
            armed = self.hik.faults.garble_search
            return armed is not None and self.hik.searches >= armed
        armed = self._dahua().faults.garble_find
        return armed is not None and self._dahua().finds >= armed

    def streams(self) -> int:
        """Dahua: event streams opened so far."""
        return self._dahua().attaches

    def drop_stream(self, after: int | None) -> None:
        """Dahua: each event stream dies after `after` events (None: it stops)."""
        self._dahua().faults.drop_stream_after = after

    def skew(self, seconds: float) -> None:
        """Move the terminal's clock by `seconds`."""
        if self.hik is not None:
            self.hik.skew_s += seconds
        else:
            self._dahua().skew_s += seconds

    def disarm_fired(self) -> None:
        """Disarm a dropped-link switch once the link has dropped."""
        with self.lock:
            if self.armed_drop is not None and self.requests() > self.armed_drop:
                self._set_drop(None)
                self.armed_drop = None
                self.drops_fired += 1

    def figures(self) -> dict[str, Any]:
        """What the emulator served, for the report."""
        if self.hik is not None:
            served, asked = self.hik.pages_served, self.hik.searches
        else:
            served, asked = self._dahua().pages_served, self._dahua().finds
            if self.live:
                return {"pages": served, "searches": asked, "streams": self.streams(),
                        "drops": self.drops_fired}  # fmt: skip
        return {"pages": served, "searches": asked, "drops": self.drops_fired}

    def config(self, port: int, interval_s: float) -> dict[str, object]:
        """The device entry for the service's configuration file."""
        options: dict[str, object] = {"username": "admin", "interval_s": interval_s,
                                      "timeout_s": 3}  # fmt: skip
        if self.kind == "hik":
            options["page_size"] = HIK_PAGE
        else:
            options.update(page_size=DAHUA_PAGE, overlap_s=DAHUA_OVERLAP_S)
            if self.live:
                options.update(live=True, heartbeat_s=2)
        return {"code": self.code, "kind": self.kind, "site": "hq", "host": "127.0.0.1",
                "port": port, "comm_key": PASSWORD, "options": options}  # fmt: skip


def build(kind: str, i: int, timezone: str, *, live: bool = False) -> VendorTerminal:
    """Terminal i of `kind` with its people (codes 30000+ for Hikvision, 40000+ for Dahua)."""
    base = (30_000 if kind == "hik" else 40_000) + 100 * i
    users = [str(base + j) for j in range(USERS)]
    if kind == "hik":
        hik = HikTerminal(password=PASSWORD, timezone=timezone,
                          serial_number=f"DS-K1T671MF2026SOAK{i + 1:04d}")  # fmt: skip
        return VendorTerminal(hik_code(i), kind, users, hik=hik)
    dahua = DahuaController(password=PASSWORD, timezone=timezone,
                            serial_number=f"7G0SOAK{i + 1:04d}")  # fmt: skip
    return VendorTerminal(dahua_code(i), kind, users, live=live, dahua=dahua)


@dataclass
class VendorFaults:
    """The Hikvision and Dahua faults on the soak's schedule, each on one terminal of each kind."""

    vendors: dict[str, VendorTerminal]
    away: set[str]  # sources refusing logins on purpose (no catch-up expected meanwhile)
    monitor: Monitor
    cursors: Callable[[], dict[str, int]]  # the store's committed cursors by device code
    supervise: Callable[[], None]  # keeps the service alive while an action waits
    # (fault, note, codes, whether the switch fired on a code), checked at the end.
    checks: list[tuple[Fault, str, list[str], Callable[[str], bool]]] = field(default_factory=list)
    _refused: Fault | None = None

    def schedule(self) -> list[Action]:
        """The actions, when there are terminals of both kinds."""
        hik = [c for c, t in self.vendors.items() if t.kind == "hik"]
        dahua = [c for c, t in self.vendors.items() if t.kind == "dahua"]
        if not hik or not dahua:
            return []
        refused = [hik[0], dahua[1 % len(dahua)]]
        skewed = [hik[2 % len(hik)], dahua[2 % len(dahua)]]
        garbled = [hik[1 % len(hik)], dahua[0]]
        plan: list[Action] = [
            (0.10, "hik/dahua logins refused", lambda: self.refuse(refused)),
            (0.24, "hik/dahua logins accepted (first transfer cut)", lambda: self.accept(refused)),
            (0.33, "hik/dahua clocks jump +2 h", lambda: self.jump(skewed)),
            (0.50, "hik/dahua search replies garbled", lambda: self.garble(garbled)),
        ]
        streaming = [c for c in dahua if self.vendors[c].live][:1]
        if streaming:
            plan.append((0.66, "dahua event streams cut", lambda: self.cut_streams(streaming)))
        return plan

    def refuse(self, codes: list[str]) -> None:
        """The terminals refuse every login (a password changed on them)."""
        self._refused = self.monitor.begin("hik/dahua logins refused", terminals=codes)
        for c in codes:
            self.away.add(self.vendors[c].source)
            self.vendors[c].refuse_logins(True)

    def accept(self, codes: list[str]) -> None:
        """Logins work again; the catch-up read is cut after its first page."""
        assert self._refused is not None
        cursors = self.cursors()
        piled = {c: self.vendors[c].last_number - cursors.get(c, 0) for c in codes}
        self._refused.notes["piled_up"] = piled
        # More piled up than one page holds: the cut falls inside the catch-up read.
        pages = {c: HIK_PAGE if self.vendors[c].kind == "hik" else DAHUA_PAGE for c in codes}
        self._refused.notes["cut_mid_read"] = [c for c in codes if piled[c] > pages[c]]
        for c in codes:
            self.vendors[c].drop_after_next_page()
            self.vendors[c].refuse_logins(False)
            self.away.discard(self.vendors[c].source)
        self.checks.append(
            (self._refused, "connections_dropped", codes, lambda c: self.vendors[c].drops_fired > 0)
        )
        self.monitor.end(self._refused)

    def jump(self, codes: list[str]) -> None:
        """The terminals' clocks jump two hours ahead."""
        f = self.monitor.begin("hik/dahua clocks jump +2 h", terminals=codes)
        for c in codes:
            self.vendors[c].skew(7200)
        self.monitor.end(f)

    def garble(self, codes: list[str]) -> None:
        """The next search reply of each terminal is cut short."""
        f = self.monitor.begin("hik/dahua search replies garbled", terminals=codes)
        for c in codes:
            self.vendors[c].garble_next_reply()
        self.checks.append((f, "garbled", codes, lambda c: self.vendors[c].garble_fired()))
        self.monitor.end(f)

    def cut_streams(self, codes: list[str]) -> None:
        """Each event stream dies at its first event, until it was opened again twice."""
        f = self.monitor.begin("dahua event streams cut", terminals=codes)
        opened = {c: self.vendors[c].streams() for c in codes}
        for c in codes:
            self.vendors[c].drop_stream(0)
        deadline = time.monotonic() + 8.0  # a few seconds at most
        while time.monotonic() < deadline and any(
            self.vendors[c].streams() - opened[c] < 2 for c in codes
        ):
            self.supervise()
            time.sleep(0.2)
        for c in codes:
            self.vendors[c].drop_stream(None)
        reopened = {c: self.vendors[c].streams() - opened[c] for c in codes}
        f.notes["streams_reopened"] = reopened
        self.checks.append((f, "streams_cut", codes, lambda c: reopened[c] > 0))
        self.monitor.end(f)

    def unfired(self) -> list[str]:
        """Note on each fault where its switch fired; a problem for each that did not."""
        problems = []
        for fault, note, codes, fired in self.checks:
            fault.notes[note] = [c for c in codes if fired(c)]
            if len(fault.notes[note]) != len(codes):
                problems.append(f"{fault.name}: not every switch fired")
        return problems
