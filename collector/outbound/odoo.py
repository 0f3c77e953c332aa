"""Odoo connector: each final attendance day becomes an `hr.attendance` check-in/check-out pair.

Two protocols, chosen per target (`config.protocol`): Odoo 19+'s JSON-2 API
(`POST /json/2/<model>/<method>`, named arguments, `Authorization: bearer <api key>`) and
JSON-RPC (`/jsonrpc`, `object.execute_kw` after `common.authenticate`) for Odoo 17 and 18.
From `day.finalized` it takes the day's first in and last out. Idempotent by looking first:
an attendance of the employee starting at that check-in is updated (a revised day), not
doubled. Odoo allows one open attendance per employee and refuses overlaps; a day with no
check-out is sent open only when the employee has no open attendance, and every refusal
(overlap, open attendance, unknown employee) is a per-employee rejection HR can act on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collector.outbound.delivery import Attempt, Claimed, Outcome
from collector.outbound.http import HttpClient, HttpError
from collector.outbound.targets import TargetInfo

HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class OdooError(Exception):
    """Odoo refused a call: `refused` (validation, missing record) or not (auth, server)."""

    def __init__(self, message: str, *, refused: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.refused = refused
        self.status = status


def _odoo_time(iso: str) -> str:
    """An RFC 3339 UTC time as Odoo's naive-UTC datetime text."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Json2:
    """Odoo 19+: one POST per method, named arguments, bearer API key."""

    client: HttpClient
    url: str
    key: str
    database: str | None

    def call(self, model: str, method: str, params: dict[str, Any]) -> Any:
        """Call `model.method(**params)`."""
        headers = {**HEADERS, "Authorization": f"bearer {self.key}"}
        if self.database:
            headers["X-Odoo-Database"] = self.database
        answer = self.client.post(
            f"{self.url.rstrip('/')}/json/2/{model}/{method}", json.dumps(params).encode(), headers
        )
        if 200 <= answer.status < 300:
            return json.loads(answer.body)
        try:
            body = json.loads(answer.body)
            name, message = str(body.get("name", "")), str(body.get("message", answer.text))
        except (ValueError, AttributeError):
            name, message = "", answer.text[:500]
        refused = answer.status in (400, 404, 422) or name.endswith(
            ("ValidationError", "UserError", "MissingError")
        )
        raise OdooError(message, refused=refused and answer.status != 401, status=answer.status)

    def search_read(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Records matching `domain`."""
        result: list[dict[str, Any]] = self.call(
            model, "search_read", {"domain": domain, "fields": fields}
        )
        return result

    def create(self, model: str, values: dict[str, Any]) -> int:
        """A new record's id."""
        ids = self.call(model, "create", {"vals_list": [values]})
        return int(ids[0])

    def write(self, model: str, ids: list[int], values: dict[str, Any]) -> None:
        """Update records."""
        self.call(model, "write", {"ids": ids, "vals": values})


@dataclass
class JsonRpc:
    """Odoo 17/18: `execute_kw` over /jsonrpc, as the user `login` with a password or API key."""

    client: HttpClient
    url: str
    database: str
    login: str
    password: str
    uid: int | None = None

    def _rpc(self, service: str, method: str, args: list[Any]) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": args},
        }
        answer = self.client.post(
            f"{self.url.rstrip('/')}/jsonrpc", json.dumps(body).encode(), HEADERS
        )
        if not 200 <= answer.status < 300:
            raise OdooError(answer.text[:500], refused=False, status=answer.status)
        reply = json.loads(answer.body)
        error = reply.get("error")
        if error:
            data = error.get("data") or {}
            name, message = str(data.get("name", "")), str(data.get("message", error))
            refused = name.endswith(("ValidationError", "UserError", "MissingError"))
            raise OdooError(message, refused=refused, status=answer.status)
        return reply.get("result")

    def call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`execute_kw` once authenticated."""
        if self.uid is None:
            uid = self._rpc(
                "common", "authenticate", [self.database, self.login, self.password, {}]
            )
            if not uid:
                raise OdooError("Odoo refused the login and password", refused=False, status=401)
            self.uid = int(uid)
        return self._rpc(
            "object",
            "execute_kw",
            [self.database, self.uid, self.password, model, method, args, kwargs],
        )

    def search_read(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Records matching `domain`."""
        result: list[dict[str, Any]] = self.call(model, "search_read", [domain], {"fields": fields})
        return result

    def create(self, model: str, values: dict[str, Any]) -> int:
        """A new record's id."""
        created = self.call(model, "create", [values], {})
        return int(created[0] if isinstance(created, list) else created)

    def write(self, model: str, ids: list[int], values: dict[str, Any]) -> None:
        """Update records."""
        self.call(model, "write", [ids, values], {})


def attendance(api: Json2 | JsonRpc, field: str, data: dict[str, Any]) -> str:
    """Create or update the day's attendance; a description of what was done."""
    code = data["employee_code"]
    found = api.search_read("hr.employee", [[field, "=", code]], ["id"])
    if not found:
        raise OdooError(f"employee {code}: not found in Odoo (by {field})", refused=True)
    emp = int(found[0]["id"])
    check_in = _odoo_time(data["first_in"])
    check_out = _odoo_time(data["last_out"]) if data.get("last_out") else False
    same = api.search_read(
        "hr.attendance",
        [["employee_id", "=", emp], ["check_in", "=", check_in]],
        ["id", "check_out"],
    )
    if same:
        if same[0]["check_out"] != check_out and check_out:
            api.write("hr.attendance", [int(same[0]["id"])], {"check_out": check_out})
            return "updated"
        return "already there"
    if not check_out:
        open_ones = api.search_read(
            "hr.attendance", [["employee_id", "=", emp], ["check_out", "=", False]], ["check_in"]
        )
        if open_ones:
            raise OdooError(
                f"employee {code}: an attendance since {open_ones[0]['check_in']} is still open"
                " in Odoo; close it there, then replay",
                refused=True,
            )
    values: dict[str, Any] = {"employee_id": emp, "check_in": check_in}
    if check_out:
        values["check_out"] = check_out
    api.create("hr.attendance", values)
    return "created"


class OdooSender:
    """Sends day.finalized events to Odoo as hr.attendance records."""

    kind = "odoo"

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self._sessions: dict[int, JsonRpc] = {}  # one uid per JSON-RPC target (few targets)

    def api(self, target: TargetInfo) -> Json2 | JsonRpc:
        """The protocol the target's config names, with its credential."""
        cfg = target.config
        if cfg.get("protocol", "json2") == "jsonrpc":
            session = self._sessions.get(target.id)
            if session is None or session.password != target.credentials[0]:
                session = JsonRpc(
                    self.client,
                    target.url,
                    str(cfg["database"]),
                    str(cfg["login"]),
                    target.credentials[0],
                )
                self._sessions[target.id] = session
            return session
        return Json2(self.client, target.url, target.credentials[0], cfg.get("database"))

    def send(self, target: TargetInfo, msg: Claimed) -> Attempt:
        """One day; other events have no attendance to write and are skipped."""
        if msg.event_type != "day.finalized":
            return Attempt(msg, Outcome.SKIPPED, None, "Odoo takes day.finalized only")
        data = json.loads(msg.payload)["data"]
        if not data.get("first_in"):
            return Attempt(msg, Outcome.SKIPPED, None, "no check-in that day")
        if not target.credentials:
            return Attempt(msg, Outcome.RETRY, None, "no Odoo API key configured")
        started = time.monotonic()
        field = str(target.config.get("employee_field", "barcode"))
        try:
            done = attendance(self.api(target), field, data)
        except OdooError as exc:
            outcome = Outcome.REJECTED if exc.refused else Outcome.RETRY
            return Attempt(msg, outcome, exc.status, str(exc), _ms(started))
        except HttpError as exc:
            return Attempt(msg, Outcome.RETRY, None, str(exc), _ms(started))
        except (ValueError, KeyError, TypeError) as exc:  # an answer not shaped as Odoo's
            return Attempt(msg, Outcome.RETRY, None, f"unexpected answer: {exc}", _ms(started))
        return Attempt(
            msg, Outcome.DELIVERED, 200, None if done == "created" else done, _ms(started)
        )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
