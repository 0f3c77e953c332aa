"""Two departments for the scope walks: OPS (the scoped keys' own) and ENG (never to be seen).

ENG's employees have codes, names and correction reasons found nowhere else, so any of
them in a response is a leak; its ids are checked wherever a response names an employee
or a punch by id. `fingerprint` reads every employee-related row of ENG, so a walk can tell
whether a refused write changed any of it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import or_, select

from collector.days import assign_policy, process_dirty
from collector.runtime import Store
from collector.store.ingest import ingest_batch
from collector.store.models import (
    AttendanceDay,
    Department,
    Device,
    DirtyDay,
    Employee,
    EmployeeRequest,
    Policy,
    PolicyAssignment,
    Punch,
    PushCommand,
    Quarantine,
    Site,
)
from tests.factories import add_employee, raw_punch
from tests.push_support import add_push_device
from tests.rules.helpers import FLEX_DOC

MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
BERLIN = "Europe/Berlin"
MISSING_ID = 999_999  # no row of any table has it
# What the walks name instead of ENG's rows to see how rows that do not exist are answered;
# each unique, so an answer about them can be turned back into one about ENG's exactly.
MISSING = {
    "employee_id": 999_991,
    "punch_id": 999_992,
    "assignment_id": 999_993,
    "employee_code": "NOSUCH0000",
    "employee": "NOSUCH0000",
    "request_id": 999_994,
}
ENG_PEOPLE = (("ENGZQ7731", "Zebulon Quartermaine"), ("ENGXV5520", "Xiomara Vantablack"))
ENG_REASON = "Quokka correction for ENG"
MARKERS = ("ENGZQ7731", "ENGXV5520", "Zebulon", "Quartermaine", "Xiomara", "Vantablack", "Quokka")


@dataclass
class Foreign:
    """ENG's ids (the walk's path and query values) and OPS's own employee."""

    department_id: int
    employee_ids: tuple[int, ...]
    punch_ids: tuple[int, ...]
    assignment_ids: tuple[int, ...]
    quarantine_ids: tuple[int, ...]
    command_id: int
    device_id: int
    site_id: int
    policy_id: int
    own_employee_id: int
    request_id: int

    def values(self) -> dict[str, Any]:
        """A value for each parameter the walks fill, by name: ENG's wherever one is named."""
        return {
            "employee_id": self.employee_ids[0],
            "employee_code": ENG_PEOPLE[0][0],
            "employee": ENG_PEOPLE[0][0],  # the roster page's form names one by code
            "punch_id": self.punch_ids[0],
            "assignment_id": self.assignment_ids[0],
            "item_id": self.quarantine_ids[0],
            "command_id": self.command_id,
            "device_id": self.device_id,
            "dept_id": self.department_id,
            "site_id": self.site_id,
            "policy_id": self.policy_id,
            "request_id": self.request_id,
            "key_id": MISSING_ID,  # a walk must not revoke keys it uses
            "app_device_id": MISSING_ID,
            "period_id": MISSING_ID,  # pay periods are the company's: never a department's
            "calendar": "NOSUCH",
            "start": MON.isoformat(),
            "department": "ENG",
            "search": "Zebulon",
            "include_deleted": "true",
            "from": MON.isoformat(),
            "to": WED.isoformat(),
            "date": TUE.isoformat(),
            "day": TUE.isoformat(),
            "month": f"{TUE:%Y-%m}",
            "effective_from": MON.isoformat(),
            "effective_to": WED.isoformat(),
            "timestamp": datetime.combine(TUE, time(12, 0)).isoformat(),
            "state": "in",
            "reason": "a walk through every route",
            "idempotency_key": "walk-idempotency-key",
            "kind": "sync_roster",
        }

    def missing_values(self) -> dict[str, Any]:
        """The same table, naming rows that do not exist wherever it names ENG's rows."""
        return {**self.values(), **MISSING}


def _punch(code: str, day: date, hhmm: str, state: int, **kw: Any) -> Any:
    return raw_punch(code, datetime.combine(day, time.fromisoformat(hhmm)), state=state, **kw)


def seed_two_departments(store: Store, now: datetime, client: Any, hr_token: str) -> Foreign:
    """ENG and OPS (OPS exists: the keys fixture made it) with employees under a policy,
    punches, computed days, a correction and a void, a quarantined ENG punch, and a
    push terminal with a queued roster sync (which carries every employee's name)."""
    add_push_device(store, serial="WALK0001", code="lobby")
    with store.sessions.begin() as s:
        ops = s.scalars(select(Department).where(Department.code == "OPS")).one()
        eng = Department(code="ENG", name="Engineering")
        site = Site(code="hq", name="HQ", timezone=BERLIN, country="DE", subdivision="BE")
        flex = Policy(name="flex", kind="flexitime", document=FLEX_DOC, updated_at=now)
        s.add_all([eng, site, flex])
        s.flush()
        people = [(code, name, eng.id) for code, name in ENG_PEOPLE]
        people.append(("OPS0001", "Olga Ownfolk", ops.id))
        ids = {}
        assignments = []
        for code, name, dept in people:
            emp = add_employee(s, code, now, name=name, department_id=dept, site_id=site.id)
            ids[code] = emp.id
            row = assign_policy(
                s, employee_id=emp.id, policy_id=flex.id, effective_from=MON, today=now.date()
            )
            assignments.append((dept, row.id))
        site_id, policy_id, eng_id = site.id, flex.id, eng.id
    batch = []
    for code, _, _ in people:
        for day in (MON, TUE):
            batch += [_punch(code, day, "09:40", 0), _punch(code, day, "17:30", 1)]
    quarantined = _punch(ENG_PEOPLE[0][0], WED, "09:10", 0, device_code="door-9", tz="Mars/Olympus")
    result = ingest_batch(store.engine, [*batch, quarantined], now=now, policy=store.policy)
    assert (result.inserted, result.quarantined) == (len(batch), 1)
    eng_codes = [code for code, _ in ENG_PEOPLE]
    with store.sessions() as s:
        stored = s.scalars(
            select(Punch.id).where(Punch.employee_code == eng_codes[0]).order_by(Punch.id)
        ).all()
        device_id = s.scalars(select(Device.id).where(Device.code == "lobby")).one()
    # Through the API with an unscoped hr key, as HR would: a correction, a void, a sync.
    headers = {"Authorization": f"Bearer {hr_token}"}
    for path, body in [
        (
            "/corrections/add",
            {
                "employee_id": ids[eng_codes[1]],
                "timestamp": datetime.combine(WED, time(9, 0)).isoformat(),
                "state": "in",
                "reason": ENG_REASON,
            },
        ),
        ("/corrections/void", {"punch_id": stored[-1], "reason": ENG_REASON}),
        (
            f"/employees/{ids[eng_codes[0]]}/requests",
            {
                "kind": "overtime",
                "start_date": TUE.isoformat(),
                "minutes": 60,
                "reason": ENG_REASON,
            },
        ),
        (f"/devices/{device_id}/commands", {"kind": "sync_roster", "reason": "walk"}),
    ]:
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        if path.endswith("/requests"):
            request_id = answer.json()["id"]
    command = next(c for c in answer.json() if ENG_PEOPLE[0][1] in c["command"])
    eng_ids = tuple(ids[c] for c in eng_codes)
    with store.sessions() as s:
        punch_ids = tuple(
            s.scalars(
                select(Punch.id).where(Punch.employee_id.in_(eng_ids)).order_by(Punch.id)
            ).all()
        )
        quarantine_ids = tuple(s.scalars(select(Quarantine.id)).all())
    process_dirty(store.engine, now=now)
    return Foreign(
        department_id=eng_id,
        employee_ids=eng_ids,
        punch_ids=punch_ids,
        assignment_ids=tuple(a for dept, a in assignments if dept == eng_id),
        quarantine_ids=quarantine_ids,
        command_id=command["id"],
        device_id=device_id,
        site_id=site_id,
        policy_id=policy_id,
        own_employee_id=ids["OPS0001"],
        request_id=request_id,
    )


def filter_variants(query: dict[str, Any], optional: list[str]) -> list[dict[str, Any]]:
    """The query with all its optional filters, with each alone, and with none of them.

    Together the filters might hide what one of them shows, and a list without filters
    shows what the scope alone lets through.
    """
    variants = [query]
    if len(optional) > 1:
        variants += [
            {k: v for k, v in query.items() if k == name or k not in optional} for name in optional
        ]
    if optional:
        variants.append({k: v for k, v in query.items() if k not in optional})
    return variants


def fingerprint(store: Store, foreign: Foreign) -> list[Any]:
    """Every employee-related row of ENG as stored now, and the queues anyone could fill."""
    ids = foreign.employee_ids
    codes = [code for code, _ in ENG_PEOPLE]
    queries = [
        select(Employee).where(Employee.id.in_(ids)).order_by(Employee.id),
        select(Punch)
        .where(or_(Punch.employee_id.in_(ids), Punch.employee_code.in_(codes)))
        .order_by(Punch.id),
        select(AttendanceDay).where(AttendanceDay.employee_id.in_(ids)).order_by(AttendanceDay.id),
        select(PolicyAssignment)
        .where(PolicyAssignment.employee_id.in_(ids))
        .order_by(PolicyAssignment.id),
        select(DirtyDay).where(DirtyDay.employee_id.in_(ids)),
        select(Quarantine).order_by(Quarantine.id),
        select(PushCommand).order_by(PushCommand.id),
        select(EmployeeRequest).where(EmployeeRequest.employee_id.in_(ids)),
    ]
    with store.sessions() as s:
        return [
            [
                {c.key: getattr(row, c.key) for c in row.__table__.columns}
                for row in s.scalars(query)
            ]
            for query in queries
        ]


def response_text(answer: Any) -> str:
    """A response's body as text, an XLSX workbook's cells included."""
    if answer.content[:2] == b"PK":  # a zip: the XLSX export
        book = load_workbook(io.BytesIO(answer.content), read_only=True)
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return str(answer.text)


def leaks(answer: Any, foreign: Foreign, sent: Iterable[Any] = ()) -> list[str]:
    """What of ENG a response shows: its markers, and any employee or punch id of its.

    A value the request itself sent (a page echoes its filters) is no marker; the twin
    request naming a missing row instead shows whether the answer depended on it.
    """
    text = response_text(answer)
    echoed = {str(v) for v in sent}
    found = [m for m in MARKERS if m in text and m not in echoed]
    if "json" in answer.headers.get("content-type", ""):
        found += _ids_in(json.loads(text), foreign)
    return found


def _ids_in(value: Any, foreign: Foreign) -> list[str]:
    named = {
        "employee_id": set(foreign.employee_ids),
        "punch_id": set(foreign.punch_ids),
        "voids_punch_id": set(foreign.punch_ids),
    }
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in named and item in named[key]:
                found.append(f"{key}={item}")
            found += _ids_in(item, foreign)
    elif isinstance(value, list):
        for item in value:
            found += _ids_in(item, foreign)
    return found


def as_if_foreign(text: str, names: Iterable[str], foreign: dict[str, Any]) -> str:
    """An answer about missing rows (`MISSING`) with ENG's values put back where they were."""
    for name in names:
        text = text.replace(str(MISSING[name]), str(foreign[name]))
    return text
