"""An emulated ZKTeco BioTime server (its REST API) on loopback, with terminals' punches.

It answers what the pull client and independent BioTime clients ask: `POST
/jwt-api-token-auth/` and `POST /api-token-auth/` (`{"token"}`), `GET
/iclock/api/transactions/` and `GET /iclock/api/terminals/` as Django REST framework pages
(`count`, `next`, `previous`, `msg`, `code`, `data`; `page` and `page_size` or `limit`;
an out-of-range page is 404 "Invalid page."), filtered by `start_time`/`end_time` on the
punch time, `terminal_sn`, `emp_code`, ordered by id unless `ordering` names punch or upload
time. Ids are given on arrival, so a late upload of an old punch gets a higher id; punch
times are the terminals' wall clocks. Fault switches: latency, refused credentials, a
licence without the JWT API (403 "IsNotOpenAPI") or a server without it (404), tokens that
expire after N calls, a garbled page, a dropped link after N pages, terminal clock skew,
cleared transactions and ids that start again (a restored database).
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from devices.biotime.transactions import TIME_FORMAT
from devices.httpemulator import EmulatorHandler, LoopbackServer

PAGE_CAP = 1000
STATES = ("0", "1")  # check in, check out: what most people press
VERIFY = (15, 15, 1, 4)  # face mostly, fingerprint, card
ORDERINGS = {"punch_time", "-punch_time", "upload_time", "-upload_time"}


def jwt_token(username: str, lifetime_s: int = 3600) -> str:
    """A token shaped like djangorestframework-jwt's (header.claims.signature, HS256)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"user_id": 1, "username": username, "exp": int(time.time()) + lifetime_s}
    header = part({"typ": "JWT", "alg": "HS256"})
    return f"{header}.{part(claims)}.{secrets.token_urlsafe(32)}"


@dataclass
class BioTimeFaults:
    """Ways the emulated server misbehaves (all off by default)."""

    latency_s: float = 0.0
    wrong_password: bool = False  # every login refused, as after a password change
    jwt_forbidden: bool = False  # the licence has no JWT API: 403 IsNotOpenAPI
    jwt_missing: bool = False  # an older server: no JWT endpoint at all (404)
    token_calls: int | None = None  # a token is refused (401) after this many calls
    garble_page: int | None = None  # the Nth transactions reply (1-based) is not JSON
    drop_after_pages: int | None = None  # close the connection instead of page N+1


@dataclass
class BioTerminal:
    """One terminal behind the server: its serial, alias, zone and clock skew."""

    sn: str
    alias: str
    timezone: str = "UTC"
    skew_s: float = 0.0

    def wall_now(self) -> datetime:
        """The terminal's wall clock (naive), off by its skew."""
        now = datetime.now(UTC) + timedelta(seconds=self.skew_s)
        return now.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)


@dataclass
class BioTimeServer:
    """The server's state: terminals, transactions, accounts and tokens."""

    username: str = "admin"
    password: str = "biotime123"
    timezone: str = "UTC"  # the server's own zone (upload_time)
    terminals: dict[str, BioTerminal] = field(default_factory=dict)
    faults: BioTimeFaults = field(default_factory=BioTimeFaults)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    tokens: dict[str, int] = field(default_factory=dict)  # token → calls made with it
    logins: list[str] = field(default_factory=list)  # "JWT" / "Token", for tests
    pages_served: int = 0
    page_requests: int = 0
    queries: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_terminal(self, sn: str, *, timezone: str = "UTC", alias: str = "") -> BioTerminal:
        """Register a terminal (terminals register themselves with the server)."""
        terminal = BioTerminal(sn=sn, alias=alias or f"Door {sn[-4:]}", timezone=timezone)
        self.terminals[sn] = terminal
        return terminal

    def add_punch(
        self,
        sn: str,
        emp_code: str,
        punch_time: datetime,
        *,
        state: str = "0",
        verify: int = 15,
    ) -> dict[str, Any]:
        """A punch arriving now from terminal `sn`; `punch_time` is that terminal's wall clock."""
        terminal = self.terminals[sn]
        upload = datetime.now(UTC).astimezone(ZoneInfo(self.timezone))
        with self.lock:
            item: dict[str, Any] = {
                "id": self.next_id,
                "emp": None,
                "emp_code": emp_code,
                "first_name": f"Person {emp_code}",
                "last_name": "",
                "department": None,
                "position": None,
                "punch_time": punch_time.strftime(TIME_FORMAT),
                "punch_state": state,
                "punch_state_display": {"0": "Check In", "1": "Check Out"}.get(state, state),
                "verify_type": verify,
                "verify_type_display": {1: "Fingerprint", 4: "Card", 15: "Face"}.get(verify, ""),
                "work_code": "0",
                "gps_location": None,
                "area_alias": "HQ",
                "terminal_sn": sn,
                "temperature": 255,
                "is_mask": "No",
                "terminal_alias": terminal.alias,
                "upload_time": upload.strftime(TIME_FORMAT),
            }
            self.transactions.append(item)
            self.next_id += 1
        return item

    def fill(self, count: int, *, seed: int = 42) -> None:
        """`count` punches over past working days, spread over the terminals."""
        rng = random.Random(seed)
        sns = sorted(self.terminals)
        start = datetime.now(UTC) - timedelta(days=max(1, count // 40 + 1))
        clock = start.replace(hour=8, minute=0, second=0, microsecond=0, tzinfo=None)
        for i in range(count):
            clock += timedelta(seconds=rng.randint(20, 900))
            sn = sns[i % len(sns)]
            state = STATES[i % 2] if rng.random() < 0.9 else rng.choice(("2", "3", "255"))
            self.add_punch(
                sn, str(1001 + rng.randrange(50)), clock, state=state, verify=rng.choice(VERIFY)
            )

    def punch_now(self, sn: str, rng: random.Random) -> dict[str, Any]:
        """A face punch by a random person at terminal `sn`'s current wall clock."""
        wall = self.terminals[sn].wall_now()
        return self.add_punch(sn, str(1001 + rng.randrange(50)), wall, state=rng.choice(STATES))

    def clear(self, *, restart_ids: bool = False) -> None:
        """Delete every transaction; with `restart_ids`, ids start again (a restored database)."""
        with self.lock:
            self.transactions.clear()
            if restart_ids:
                self.next_id = 1

    def login(self, scheme: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A login: (status, body)."""
        good = body.get("username") == self.username and body.get("password") == self.password
        if self.faults.wrong_password or not good:
            return 400, {"non_field_errors": ["Unable to log in with provided credentials."]}
        token = jwt_token(self.username) if scheme == "JWT" else secrets.token_hex(20)
        with self.lock:
            self.tokens[f"{scheme} {token}"] = 0
            self.logins.append(scheme)
        return 200, {"token": token}

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header carries a live token (and count the call)."""
        with self.lock:
            calls = self.tokens.get(header or "")
            if calls is None:
                return False
            limit = self.faults.token_calls
            if limit is not None and calls >= limit:
                del self.tokens[header or ""]
                return False
            self.tokens[header or ""] = calls + 1
            return True

    def page_of(
        self, rows: list[dict[str, Any]], query: dict[str, str], url: str
    ) -> tuple[int, dict[str, Any]]:
        """One DRF page of `rows`: (status, body)."""
        size = max(1, min(int(query.get("page_size") or query.get("limit") or 10), PAGE_CAP))
        try:
            number = int(query.get("page", "1"))
        except ValueError:
            number = 0
        last = max(1, -(-len(rows) // size))
        if not 1 <= number <= last:
            return 404, {"detail": "Invalid page."}

        def link(page: int) -> str | None:
            if not 1 <= page <= last:
                return None
            return f"{url}?{urlencode({**query, 'page': str(page)})}"

        body = {
            "count": len(rows),
            "next": link(number + 1),
            "previous": link(number - 1),
            "msg": "",
            "code": 0,
            "data": rows[(number - 1) * size : number * size],
        }
        return 200, body

    def transaction_rows(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """The transactions a query's filters select, in its order."""
        self.queries.append(query)
        sn, emp = query.get("terminal_sn"), query.get("emp_code")
        start, end = query.get("start_time"), query.get("end_time")
        with self.lock:
            rows = [
                t
                for t in self.transactions
                if (not sn or t["terminal_sn"] == sn)
                and (not emp or t["emp_code"] == emp)
                and (not start or t["punch_time"] >= start)
                and (not end or t["punch_time"] <= end)
            ]
        ordering = query.get("ordering", "")
        if ordering in ORDERINGS:
            key = ordering.lstrip("-")
            rows.sort(key=lambda t: (t[key], t["id"]), reverse=ordering.startswith("-"))
        return rows

    def terminal_rows(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """`/iclock/api/terminals/` items."""
        rows: list[dict[str, Any]] = []
        for sn in sorted(self.terminals):
            if query.get("sn") and query["sn"] != sn:
                continue
            terminal = self.terminals[sn]
            offset = datetime.now(ZoneInfo(terminal.timezone)).utcoffset() or timedelta()
            with self.lock:
                held = sum(1 for t in self.transactions if t["terminal_sn"] == sn)
            rows.append(
                {
                    "id": len(rows) + 1,
                    "sn": sn,
                    "ip_address": "192.0.2.50",
                    "alias": terminal.alias,
                    "terminal_tz": int(offset.total_seconds() // 3600),
                    "fw_ver": "Ver 8.0.4.2-20220610",
                    "push_ver": "2.4.1",
                    "state": 1,
                    "last_activity": terminal.wall_now().strftime(TIME_FORMAT),
                    "user_count": 50,
                    "transaction_count": held,
                    "area": {"id": 1, "area_code": "1", "area_name": "HQ"},
                }
            )
        return rows


class _Handler(EmulatorHandler):
    server_version = "nginx"
    server: ThreadingHTTPServer
    biotime: BioTimeServer

    def do_POST(self) -> None:
        state = self.biotime
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if state.faults.latency_s:
            time.sleep(state.faults.latency_s)
        path = self.path.split("?", 1)[0]
        if path not in ("/jwt-api-token-auth/", "/api-token-auth/"):
            self.reply_json(404, {"detail": "Not found."})
            return
        if path == "/jwt-api-token-auth/" and state.faults.jwt_missing:
            self.reply_json(404, {"detail": "Not found."})
            return
        if path == "/jwt-api-token-auth/" and state.faults.jwt_forbidden:
            self.reply_json(403, {"detail": "IsNotOpenAPI"})
            return
        try:
            kind = self.headers.get("Content-Type", "")
            form = "json" not in kind  # DRF takes a form post as well
            body = dict(parse_qsl(raw.decode())) if form else json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self.reply_json(400, {"detail": "JSON parse error"})
            return
        status, reply = state.login("JWT" if path.startswith("/jwt") else "Token", body)
        self.reply_json(status, reply)

    def do_GET(self) -> None:
        state = self.biotime
        if state.faults.latency_s:
            time.sleep(state.faults.latency_s)
        path, _, raw_query = self.path.partition("?")
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        if path not in ("/iclock/api/transactions/", "/iclock/api/terminals/"):
            self.reply_json(404, {"detail": "Not found."})
            return
        if not state.authorized(self.headers.get("Authorization")):
            self.reply_json(401, {"detail": "Authentication credentials were not provided."})
            return
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        url = f"http://{host}{path}"
        if path == "/iclock/api/terminals/":
            self.reply_json(*state.page_of(state.terminal_rows(query), query, url))
            return
        with state.lock:
            state.page_requests += 1
            number = state.page_requests
        faults = state.faults
        if faults.drop_after_pages is not None and number > faults.drop_after_pages:
            self.drop_link()  # the link dies before the reply
            return
        if faults.garble_page == number:
            self.reply(200, b'{"count": 3, "data": [{"id": ', "application/json")
            return
        status, body = state.page_of(state.transaction_rows(query), query, url)
        if status == 200:
            with state.lock:
                state.pages_served += 1
        self.reply_json(status, body)


class BioTimeEmulator(LoopbackServer):
    """Serves one `BioTimeServer` on 127.0.0.1 in a background thread; a context manager."""

    def __init__(self, state: BioTimeServer, port: int = 0) -> None:
        handler = type("BioTimeHandler", (_Handler,), {"biotime": state})
        self.state = state
        super().__init__(handler, port, "biotime-emulator")
