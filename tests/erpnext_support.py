"""An ERPNext (Frappe HRMS) site on 127.0.0.1 with the Employee Checkin method and its answers.

It implements what punchgate calls, as Frappe answers it: `POST /api/method/<path>` with
`Authorization: token key:secret` and a form body; 200 `{"message": {...checkin...}}`; a bad
token 401 AuthenticationError; an unknown employee field value 417 ValidationError "No
Employee found for the given employee field value"; an inactive employee 417 "Transactions
cannot be created for an Inactive Employee"; the same employee, time and log type again
409 DuplicateEntryError "This employee already has a log with the same timestamp". Each
error carries `exc_type` and `_server_messages` (a JSON list of JSON strings), as Frappe's.
`PUT /api/resource/Shift Type/<name>` with a JSON body updates a shift type's fields (404
DoesNotExistError for one the site does not have), as Frappe's REST resource API does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.outbound_support import JsonHandler, serving

METHOD = "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"


@dataclass
class Site:
    """The site's state: employees by field value, checkins made, faults to inject."""

    token: str = "k3y:s3cret"
    employees: dict[str, dict[str, str]] = field(default_factory=dict)  # value → name, status
    checkins: list[dict[str, str]] = field(default_factory=list)
    fail_once: dict[str, int] = field(default_factory=dict)  # field value → a 5xx to give once
    shift_types: dict[str, dict[str, str]] = field(default_factory=dict)  # name → its fields
    shift_puts: list[tuple[str, str]] = field(default_factory=list)  # (name, last sync) sent
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def checkin(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """What the method answers for one call."""
        fieldname = form.get("employee_fieldname", "attendance_device_id")
        emp = self.employees.get(form["employee_field_value"])
        if emp is None:
            return _error(
                417,
                "ValidationError",
                "No Employee found for the given employee field value."
                f" '{fieldname}': {form['employee_field_value']}",
            )
        if emp["status"] != "Active":
            return _error(
                417,
                "InactiveEmployeeStatusError",
                f"Transactions cannot be created for an Inactive Employee {emp['name']}.",
            )
        log_type = form.get("log_type", "")
        for c in self.checkins:
            if (c["employee"], c["time"], c["log_type"]) == (
                emp["name"],
                form["timestamp"],
                log_type,
            ):
                return _error(
                    409,
                    "DuplicateEntryError",
                    f"This employee already has a log with the same timestamp.<br>{c['name']}",
                )
        doc = {
            "name": f"EMP-CKIN-{len(self.checkins) + 1:05d}",
            "employee": emp["name"],
            "time": form["timestamp"],
            "log_type": log_type,
            "device_id": form.get("device_id", ""),
            "latitude": form.get("latitude", ""),
            "longitude": form.get("longitude", ""),
            "skip_auto_attendance": form.get("skip_auto_attendance", "0"),
        }
        self.checkins.append(doc)
        return 200, {"message": doc}


def _error(status: int, exc_type: str, message: str) -> tuple[int, dict[str, Any]]:
    inner = json.dumps({"message": message, "title": "Message", "indicator": "red"})
    return status, {
        "exc_type": exc_type,
        "exception": f"frappe.exceptions.{exc_type}: {message}",
        "_server_messages": json.dumps([inner]),
    }


@contextmanager
def erpnext_site(site: Site | None = None) -> Iterator[tuple[str, Site]]:
    """Serve the site; yields its base URL and its state."""
    state = site or Site()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            with state.lock:
                state.requests += 1
                if self.headers.get("authorization") != f"token {state.token}":
                    status, answer = _error(401, "AuthenticationError", "Invalid token")
                elif self.path != f"/api/method/{METHOD}":
                    status, answer = _error(404, "DoesNotExistError", f"No method {self.path}")
                else:
                    form = {k: v[0] for k, v in parse_qs(body).items()}
                    fault = state.fail_once.pop(form.get("employee_field_value", ""), None)
                    if fault is not None:
                        status, answer = fault, {"exc_type": "ServerError"}
                    else:
                        status, answer = state.checkin(form)
            self.answer(status, answer)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            prefix = "/api/resource/Shift%20Type/"
            with state.lock:
                state.requests += 1
                name = unquote(self.path[len(prefix) :])
                if self.headers.get("authorization") != f"token {state.token}":
                    status, answer = _error(401, "AuthenticationError", "Invalid token")
                elif not self.path.startswith(prefix) or name not in state.shift_types:
                    status, answer = _error(
                        404, "DoesNotExistError", f"Shift Type {name} not found"
                    )
                else:
                    fields = json.loads(body)
                    state.shift_types[name].update(fields)
                    state.shift_puts.append((name, fields["last_sync_of_checkin"]))
                    status, answer = 200, {"data": {"name": name, **state.shift_types[name]}}
            self.answer(status, answer)

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}", state
