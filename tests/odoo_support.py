"""An Odoo on 127.0.0.1 with hr.employee and hr.attendance, over JSON-2 (19+) and JSON-RPC (17/18).

It keeps Odoo's attendance rules: one open attendance (no check_out) per employee, no
overlapping attendances, check_out after check_in — refused with a ValidationError as Odoo
does. JSON-2: `POST /json/2/<model>/<method>`, bearer key, named arguments, errors as HTTP
4xx/5xx with `{"name": "odoo.exceptions.…", "message": …}`. JSON-RPC: `POST /jsonrpc`,
`common.authenticate` then `object.execute_kw`, errors as HTTP 200 with an `error` member.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.outbound_support import JsonHandler, serving


class Refused(Exception):
    """An Odoo exception: its class name and message."""

    def __init__(self, name: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.name, self.message, self.status = name, message, status


@dataclass
class Odoo:
    """The database: employees, attendances, credentials, faults."""

    key: str = "odoo-api-key"
    database: str = "prod"
    login: str = "punchgate"
    employees: list[dict[str, Any]] = field(default_factory=list)
    attendances: list[dict[str, Any]] = field(default_factory=list)
    fail_once: int | None = None  # a 5xx for the next call
    lock: threading.Lock = field(default_factory=threading.Lock)

    def table(self, model: str) -> list[dict[str, Any]]:
        if model == "hr.employee":
            return self.employees
        if model == "hr.attendance":
            return self.attendances
        raise Refused("odoo.exceptions.MissingError", f"no model {model}", 404)

    def method(self, model: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """One ORM call with positional (JSON-RPC) or named (JSON-2) arguments."""
        rows = self.table(model)
        if name == "search_read":
            domain = kwargs.get("domain", args[0] if args else [])
            fields = kwargs.get("fields", [])
            found = [r for r in rows if all(_match(r, *term) for term in domain)]
            return [{k: r.get(k, False) for k in ["id", *fields]} for r in found]
        if name == "create":
            vals_list = kwargs.get("vals_list", args[0] if args else [])
            if isinstance(vals_list, dict):
                vals_list = [vals_list]
            ids = []
            for vals in vals_list:
                record = {"check_out": False, **vals, "id": len(rows) + 1}
                if model == "hr.attendance":
                    self.check(record)
                rows.append(record)
                ids.append(record["id"])
            return ids
        if name == "write":
            ids = kwargs.get("ids", args[0] if args else [])
            vals = kwargs.get("vals", args[1] if len(args) > 1 else {})
            for r in rows:
                if r["id"] in ids:
                    changed = {**r, **vals}
                    if model == "hr.attendance":
                        self.check(changed, ignore=r["id"])
                    r.update(vals)
            return True
        raise Refused("odoo.exceptions.UserError", f"no method {name}", 404)

    def check(self, new: dict[str, Any], ignore: int | None = None) -> None:
        """Odoo's _check_validity, in short."""
        emp = new["employee_id"]
        if new["check_out"] and new["check_out"] < new["check_in"]:
            raise Refused("odoo.exceptions.ValidationError", '"Check Out" time cannot be earlier')
        for a in self.attendances:
            if a["employee_id"] != emp or a["id"] == ignore:
                continue
            if not a["check_out"] and a["check_in"] <= new["check_in"]:
                raise Refused(
                    "odoo.exceptions.ValidationError",
                    f"Cannot create new attendance record for employee {emp}, the employee"
                    f" hasn't checked out since {a['check_in']}",
                )
            end = new["check_out"] or "9999"
            if a["check_in"] < end and (a["check_out"] or "9999") > new["check_in"]:
                raise Refused(
                    "odoo.exceptions.ValidationError",
                    f"Cannot create new attendance record for employee {emp}, the employee was"
                    f" already checked in on {a['check_in']}",
                )


def _match(record: dict[str, Any], name: str, op: str, value: Any) -> bool:
    assert op == "=", op
    return bool(record.get(name, False) == value)


@contextmanager
def odoo_server(odoo: Odoo | None = None) -> Iterator[tuple[str, Odoo]]:
    """Serve the Odoo; yields its base URL and its state."""
    state = odoo or Odoo()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            with state.lock:
                if state.fail_once is not None:
                    status, state.fail_once = state.fail_once, None
                    return self.answer(status, {"message": "Internal Server Error"})
                if self.path == "/jsonrpc":
                    return self.answer(200, self.jsonrpc(body))
                parts = self.path.split("/")  # /json/2/<model>/<method>
                if self.headers.get("authorization") != f"bearer {state.key}":
                    return self.answer(
                        401,
                        {"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey"},
                    )
                try:
                    result = state.method(parts[3], parts[4], [], body)
                except Refused as exc:
                    return self.answer(exc.status, {"name": exc.name, "message": exc.message})
                self.answer(200, result)

        def jsonrpc(self, body: dict[str, Any]) -> dict[str, Any]:
            params = body["params"]
            try:
                if params["service"] == "common":
                    db, login, password, _ = params["args"]
                    ok = (db, login, password) == (state.database, state.login, state.key)
                    return {"jsonrpc": "2.0", "id": body.get("id"), "result": 1 if ok else False}
                db, uid, password, model, method, args, kwargs = params["args"]
                if (db, uid, password) != (state.database, 1, state.key):
                    raise Refused("odoo.exceptions.AccessDenied", "Access Denied")
                result = state.method(model, method, args, kwargs)
            except Refused as exc:
                data = {"name": exc.name, "message": exc.message}
                error = {"code": 200, "message": "Odoo Server Error", "data": data}
                return {"jsonrpc": "2.0", "id": body.get("id"), "error": error}
            return {"jsonrpc": "2.0", "id": body.get("id"), "result": result}

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}", state
