"""What recomputation needs besides punches: employees, effective-dated policies, calendars.

`Context` loads the master data for a set of employees in a few queries and keeps the
compiled policies and site calendars across batches (a policy is recompiled when its
`updated_at` changes), so the hot loop only does dictionary look-ups.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from rules.calendar import Calendar, site_calendar
from rules.leavetypes import DayLeave
from rules.policy import Policy
from rules.schema import PolicyError, load_policy

if TYPE_CHECKING:
    from collector.days.roster_book import RosterBook

log = logging.getLogger(__name__)

CHUNK = 900  # keeps IN (...) lists under every backend's parameter limit
FED_BY = ("zk", "push", "hik", "dahua")  # device kinds that report how far they have synced


def as_date(value: Any) -> date:
    """A date from what the DB-API returned (SQLite hands back text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def as_utc(value: Any) -> datetime | None:
    """An aware UTC datetime from what the DB-API returned for a naive-UTC column."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


def mark(conn: Connection) -> str:
    """The DB-API parameter marker of the connection's dialect."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def query(conn: Connection, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the raw DB-API cursor and return every row."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class EmployeeInfo:
    """The parts of an employee that decide which days are computed and how."""

    id: int
    site_id: int | None
    active_from: date | None
    active_to: date | None
    deleted_on: date | None

    def active_on(self, day: date) -> bool:
        """Employed (and not deleted) on that date."""
        if self.active_from is not None and day < self.active_from:
            return False
        if self.active_to is not None and day > self.active_to:
            return False
        return self.deleted_on is None or day < self.deleted_on


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device that feeds attendance and how far it has reported."""

    code: str
    site_id: int | None
    reported_until: datetime | None


def _roster_book() -> RosterBook:
    # Imported here: roster_book reads the database through this module's helpers.
    from collector.days.roster_book import RosterBook

    return RosterBook()


@dataclass
class Context:
    """Master data for recomputation, reusable across batches."""

    employees: dict[int, EmployeeInfo] = field(default_factory=dict)
    # employee → sorted effective_from list, and the matching (effective_to, policy_id)
    starts: dict[int, list[date]] = field(default_factory=dict)
    spans: dict[int, list[tuple[date | None, int]]] = field(default_factory=dict)
    policies: dict[int, Policy] = field(default_factory=dict)
    _policy_keys: dict[int, Any] = field(default_factory=dict)
    sites: dict[int, Calendar] = field(default_factory=dict)
    default_calendar: Calendar = field(default_factory=lambda: site_calendar("UTC"))
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    site_devices: dict[int | None, list[DeviceInfo]] = field(default_factory=dict)
    _calendars: dict[tuple[str, str | None, str | None], Calendar] = field(default_factory=dict)
    # (employee, date) → the leave entries on that date
    leaves: dict[tuple[int, date], tuple[DayLeave, ...]] = field(default_factory=dict)
    roster: RosterBook = field(default_factory=_roster_book)  # loaded by recompute for its days
    # (employee, date) → minutes of overtime approved in advance; read only when a policy
    # counts nothing else (rules.requests), so everyone else's recompute pays nothing for it
    approved_overtime: dict[tuple[int, date], int] = field(default_factory=dict)

    def load(self, conn: Connection, employee_ids: Iterable[int]) -> None:
        """Read employees, their assignments, the policies, sites and devices."""
        ids = sorted(set(employee_ids))
        m = mark(conn)
        self.employees.clear()
        self.starts.clear()
        self.spans.clear()
        self.leaves.clear()
        rows: list[tuple[Any, ...]] = []
        assigns: list[tuple[Any, ...]] = []
        leave_rows: list[tuple[Any, ...]] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            marks = ", ".join([m] * len(chunk))
            rows += query(
                conn,
                "SELECT id, site_id, active_from, active_to, deleted_at FROM employees"
                f" WHERE id IN ({marks})",
                chunk,
            )
            assigns += query(
                conn,
                "SELECT employee_id, effective_from, effective_to, policy_id"
                f" FROM policy_assignments WHERE employee_id IN ({marks})",
                chunk,
            )
            leave_rows += query(
                conn,
                "SELECT id, employee_id, leave_type, part, start_time, end_time, start_date,"
                f" end_date FROM leaves WHERE employee_id IN ({marks})",
                chunk,
            )
        for eid, site_id, af, at, deleted in rows:
            gone = as_utc(deleted)
            self.employees[eid] = EmployeeInfo(
                eid,
                site_id,
                None if af is None else as_date(af),
                None if at is None else as_date(at),
                None if gone is None else gone.date(),
            )
        for eid, frm, to, pid in sorted(assigns, key=lambda r: (r[0], as_date(r[1]))):
            self.starts.setdefault(eid, []).append(as_date(frm))
            self.spans.setdefault(eid, []).append((None if to is None else as_date(to), pid))
        self._load_leaves(leave_rows)
        self._load_policies(conn)
        self._load_sites_and_devices(conn)
        self.approved_overtime.clear()
        if any(p.requests.overtime_needs_approval for p in self.policies.values()):
            self._load_approved_overtime(conn, ids)

    def _load_approved_overtime(self, conn: Connection, ids: list[int]) -> None:
        m = mark(conn)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            for eid, day, details in query(
                conn,
                "SELECT employee_id, local_date, details FROM employee_requests"
                f" WHERE employee_id IN ({', '.join([m] * len(chunk))})"
                " AND kind = 'overtime' AND state = 'approved'",
                chunk,
            ):
                found = json.loads(details) if isinstance(details, str) else details
                key = (eid, as_date(day))
                self.approved_overtime[key] = self.approved_overtime.get(key, 0) + int(
                    found.get("minutes", 0)
                )

    def _load_leaves(self, rows: list[tuple[Any, ...]]) -> None:
        one = timedelta(days=1)
        for lid, eid, code, part, st, et, sd, ed in sorted(rows):
            try:
                entry = DayLeave.of(code, part, st, et)
            except ValueError as exc:  # validated on the way in; a hand-edited row may not be
                log.error("leave %s is invalid and is skipped: %s", lid, exc)
                continue
            day, end = as_date(sd), as_date(ed)
            while day <= end:
                key = (eid, day)
                self.leaves[key] = (*self.leaves.get(key, ()), entry)
                day += one

    def leave_on(self, employee_id: int, day: date) -> tuple[DayLeave, ...]:
        """The employee's leave entries on that date (none: an empty tuple)."""
        return self.leaves.get((employee_id, day), ())

    def _load_policies(self, conn: Connection) -> None:
        for pid, name, kind, document, updated in query(
            conn, "SELECT id, name, kind, document, updated_at FROM policies"
        ):
            key = (name, kind, updated)
            if self._policy_keys.get(pid) == key:
                continue
            doc = json.loads(document) if isinstance(document, str) else document
            try:
                self.policies[pid] = load_policy(name, kind, doc)
            except PolicyError as exc:  # validated on the way in; a hand-edited row may not be
                log.error("policy %s (%s) is invalid and is skipped: %s", pid, name, exc)
                self.policies.pop(pid, None)
            self._policy_keys[pid] = key

    def _load_sites_and_devices(self, conn: Connection) -> None:
        self.sites.clear()
        for sid, tz, country, subdiv in query(
            conn, "SELECT id, timezone, country, subdivision FROM sites"
        ):
            key = (tz or "UTC", country or None, subdiv or None)
            cal = self._calendars.get(key)
            if cal is None:
                try:
                    cal = site_calendar(*key)
                except (ValueError, KeyError) as exc:
                    log.error("site %s: %s; using its zone without public holidays", sid, exc)
                    cal = site_calendar(key[0])
                self._calendars[key] = cal
            self.sites[sid] = cal
        self.devices.clear()
        self.site_devices.clear()
        marks = ", ".join(f"'{k}'" for k in FED_BY)
        for code, site_id, enabled, until in query(
            conn,
            f"SELECT code, site_id, enabled, reported_until FROM devices WHERE kind IN ({marks})",
        ):
            info = DeviceInfo(code, site_id, as_utc(until))
            self.devices[code] = info
            if enabled:
                self.site_devices.setdefault(site_id, []).append(info)

    def policy_on(self, employee_id: int, day: date) -> tuple[int, Policy] | None:
        """The policy in force for the employee on that date (latest effective_from wins)."""
        starts = self.starts.get(employee_id)
        if not starts:
            return None
        i = bisect.bisect_right(starts, day) - 1
        if i < 0:
            return None
        to, pid = self.spans[employee_id][i]
        if to is not None and day > to:
            return None
        policy = self.policies.get(pid)
        return None if policy is None else (pid, policy)

    def calendar_of(self, employee_id: int) -> Calendar:
        """The calendar of the employee's site (UTC without holidays when there is none)."""
        emp = self.employees.get(employee_id)
        if emp is None or emp.site_id is None:
            return self.default_calendar
        return self.sites.get(emp.site_id, self.default_calendar)
