"""ERPNext / Frappe HRMS connector: each punch becomes an Employee Checkin.

It calls the documented whitelisted method `add_log_based_on_employee_field` (HRMS v14+;
a v13 site names the same method under `erpnext.`, set `method` in the target's config)
with `Authorization: token <api key>:<api secret>`, the employee matched by the field the
target names (the terminal PIN in `attendance_device_id` by default), and the time in the
site's own zone. ERPNext's answers are sorted so nothing is retried in vain: its duplicate
refusal means the checkin is there (delivered); an unknown or inactive employee waits for
HR as a rejected message naming the employee; auth failures and 5xx are retried.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from collector.outbound.delivery import Attempt, Claimed, Outcome
from collector.outbound.http import HttpClient, HttpError, Response
from collector.outbound.targets import TargetInfo

METHOD = "hrms.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
DUPLICATE = "already has a log with the same timestamp"
NOT_FOUND = "No Employee found"
INACTIVE = "Inactive Employee"
# Punch states ERPNext's log_type knows; other states send no log_type (ERPNext alternates).
LOG_TYPES = {
    "in": "IN",
    "break_in": "IN",
    "overtime_in": "IN",
    "out": "OUT",
    "break_out": "OUT",
    "overtime_out": "OUT",
}


@lru_cache(maxsize=64)  # bounded: one per configured site zone
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def checkin_form(config: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """The method's arguments for one punch.created event's data."""
    at = datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00"))
    local = at.astimezone(_zone(config.get("timezone", "UTC")))
    form = {
        "employee_field_value": data["employee_code"],
        "timestamp": local.strftime("%Y-%m-%d %H:%M:%S"),
        "device_id": data.get("device_code") or data["source"],
        "employee_fieldname": config.get("employee_fieldname", "attendance_device_id"),
        "skip_auto_attendance": str(int(bool(config.get("skip_auto_attendance", False)))),
    }
    log_type = LOG_TYPES.get(data["state"])
    if log_type is not None:
        form["log_type"] = log_type
    if data.get("latitude") is not None and data.get("longitude") is not None:
        form["latitude"] = str(data["latitude"])
        form["longitude"] = str(data["longitude"])
    return form


def frappe_message(response: Response) -> str:
    """The human message of a Frappe error answer (its _server_messages, or the exception)."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return response.text[:500]
    if not isinstance(body, dict):
        return response.text[:500]
    texts: list[str] = []
    try:
        for item in json.loads(body.get("_server_messages") or "[]"):
            message = json.loads(item).get("message") if isinstance(item, str) else None
            if message:
                texts.append(str(message))
    except (ValueError, AttributeError):
        pass
    if not texts and body.get("exception"):
        texts.append(str(body["exception"]))
    if not texts and body.get("exc_type"):
        texts.append(str(body["exc_type"]))
    return " ".join(texts) or response.text[:500]


def classify(response: Response, employee: str) -> tuple[Outcome, str | None]:
    """What an ERPNext answer means for the punch, and the error HR reads."""
    if 200 <= response.status < 300:
        return Outcome.DELIVERED, None
    message = frappe_message(response)
    if DUPLICATE in message:
        return Outcome.DELIVERED, None
    if NOT_FOUND in message:
        return Outcome.REJECTED, f"employee {employee}: not found in ERPNext ({message})"
    if INACTIVE.lower() in message.lower():
        return Outcome.REJECTED, f"employee {employee}: inactive in ERPNext ({message})"
    if response.status in (401, 403):
        return Outcome.RETRY, f"ERPNext refused the API key and secret: {message}"
    return Outcome.RETRY, message


class ErpNextSender:
    """Pushes punch.created events to ERPNext as Employee Checkins."""

    kind = "erpnext"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def send(self, target: TargetInfo, msg: Claimed) -> Attempt:
        """One checkin; other event types have no ERPNext counterpart and are skipped."""
        if msg.event_type != "punch.created":
            return Attempt(msg, Outcome.SKIPPED, None, "ERPNext takes punch.created only")
        if not target.credentials:
            return Attempt(msg, Outcome.RETRY, None, "no API key:secret configured")
        data = json.loads(msg.payload)["data"]
        method = target.config.get("method", METHOD)
        started = time.monotonic()
        try:
            response = self.client.post(
                f"{target.url.rstrip('/')}/api/method/{method}",
                urlencode(checkin_form(target.config, data)).encode(),
                {
                    "Authorization": f"token {target.credentials[0]}",
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        except HttpError as exc:
            return Attempt(msg, Outcome.RETRY, None, str(exc), _ms(started))
        outcome, error = classify(response, data["employee_code"])
        return Attempt(msg, outcome, response.status, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
