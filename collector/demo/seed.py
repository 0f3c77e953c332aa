"""Demo master data and days of history at the front door that read like a real office."""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.config import EmployeeConfig, PunchgateConfig, apply_config
from collector.normalize import RawPunch
from collector.store.models import Employee, Leave
from collector.workforce.leave import LeaveInput, add_leave
from rules.calendar import site_calendar
from rules.vocabulary import SourceKind

# Twenty different people, as in a Berlin office (employees 1001–1020, in order).
NAMES = [
    "Anna Weber", "Ben Okafor", "Chen Li", "Dara Novak", "Emil Schulz", "Fatma Yilmaz",
    "Goran Petrović", "Hui Wang", "Ines Costa", "Jonas Becker", "Katarzyna Nowak",
    "Lukas Hoffmann", "Mei Zhang", "Nils Brandt", "Olga Ivanova", "Paul Richter",
    "Qiu Ying", "Rosa Martín", "Sven Krüger", "Tara Singh",
]  # fmt: skip
BERLIN = site_calendar("Europe/Berlin", "DE", "BE")  # the demo site's zone and holidays
OPENS, CLOSES = time(7, 0), time(20, 0)  # nobody punches at the doors outside these hours


def demo_employees(count: int = 20, policy_from: date | None = None) -> list[EmployeeConfig]:
    """Employees 1001… split over the two departments: ENG on flexitime, OPS on a day shift."""
    return [
        EmployeeConfig(
            code=str(1001 + i),
            name=NAMES[i % len(NAMES)] if i < len(NAMES) else f"{NAMES[i % len(NAMES)]} {i}",
            department="ENG" if i % 2 == 0 else "OPS",
            site="hq",
            identities={"owntracks": f"user{1001 + i}"},
            policy="flexitime" if i % 2 == 0 else "day-shift",
            policy_from=policy_from,
        )
        for i in range(count)
    ]


def add_employees(
    session: Session, cfg: PunchgateConfig, now: datetime, policy_from: date | None = None
) -> int:
    """Apply the demo file plus the generated employees (under the demo policies); how many."""
    employees = demo_employees(policy_from=policy_from)
    apply_config(session, cfg.model_copy(update={"employees": employees}), now=now)
    return len(employees)


def working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday in Berlin: the days the demo office works."""
    return day.weekday() < 5 and BERLIN.public_holiday(day) is None


def office_open(local: datetime) -> bool:
    """Whether people come and go at the office at this local time."""
    return working_day(local.date()) and OPENS <= local.time() < CLOSES


class Walkers:
    """The people walking past the demo's doors: each one's punches alternate in and out."""

    def __init__(self, codes: list[str], seed: int = 7) -> None:
        self.codes = codes
        self.rng = random.Random(seed)
        self.inside: dict[str, bool] = {}
        self._lock = threading.Lock()  # the doors' threads share one office

    def saw(self, code: str, state: int) -> None:
        """Someone punched `state` (0 in, 1 out) already, e.g. earlier today."""
        with self._lock:
            self.inside[code] = state == 0

    def next_punch(self, local: datetime) -> tuple[str, int] | None:
        """Who punches now and with which state; None outside office hours."""
        if not office_open(local):
            return None
        with self._lock:
            code = self.rng.choice(self.codes)
            self.inside[code] = not self.inside.get(code, False)
            return code, 0 if self.inside[code] else 1


def door_day(day: date, *, seed: int = 7) -> list[tuple[str, datetime, datetime]]:
    """Who came in on `day` and when they arrived and left (local wall times).

    Flexitime (ENG, even positions) arrives between 07:30 and 09:45 and stays about 8½
    hours; the day shift (OPS) arrives a few minutes before 09:00, now and then late, and
    leaves after 17:30, now and then early. One person in 25 is off (sick or on leave).
    Nobody comes in on a weekend or a public holiday.
    """
    if not working_day(day):
        return []
    rng = random.Random(seed + day.toordinal())
    out = []
    for i in range(len(NAMES)):
        if rng.random() < 0.04:
            continue
        if i % 2 == 0:
            arrive = _at(day, time(7, 30)) + timedelta(minutes=rng.uniform(0, 135))
            leave = arrive + timedelta(hours=8.5, minutes=rng.gauss(15, 20))
        else:
            late = rng.random() < 0.12
            late_by = rng.uniform(6, 40) if late else rng.gauss(-8, 4)
            arrive = _at(day, time(9, 0)) + timedelta(minutes=late_by)
            early = rng.random() < 0.05
            stays = -rng.uniform(10, 60) if early else abs(rng.gauss(10, 10))
            leave = _at(day, time(17, 30)) + timedelta(minutes=stays)
        arrive = max(arrive, _at(day, OPENS)).replace(microsecond=0)
        leave = min(leave, _at(day, CLOSES)).replace(microsecond=0)
        out.append((str(1001 + i), arrive, leave))
    return out


def _at(day: date, when: time) -> datetime:
    return datetime.combine(day, when)


def history(day: date, *, seed: int = 7, tz: str = "Europe/Berlin") -> list[RawPunch]:
    """The punches of `door_day` at the front door, as one old system's import would hold."""
    return [
        RawPunch(
            employee_code=code,
            timestamp=when,
            source_kind=SourceKind.IMPORT,
            tz=tz,
            device_code="door-fp",
            verify=1,
            state=state,
        )
        for code, arrive, leave in door_day(day, seed=seed)
        for when, state in ((arrive, 0), (leave, 1))
    ]


def add_leave_examples(session: Session, now: datetime) -> int:
    """A few leave entries around today (field work, a morning off, a week's annual leave)."""
    today = now.date()
    weekday = today - timedelta(days=1)
    while weekday.weekday() >= 5:  # the last weekday before today, so the day counts
        weekday -= timedelta(days=1)
    wanted = [
        ("1005", LeaveInput("field_work", weekday, note="customer visits")),
        ("1004", LeaveInput("compensatory", today, part="am", note="调休")),
        ("1003", LeaveInput("annual", today + timedelta(days=1), today + timedelta(days=5))),
        ("1008", LeaveInput("business_trip", today, today + timedelta(days=2), note="Shanghai")),
    ]
    people = {e.code: e for e in session.scalars(select(Employee))}
    taken = {emp for (emp,) in session.execute(select(Leave.employee_id).distinct())}
    added = 0
    for code, data in wanted:
        emp = people.get(code)
        if emp is None or emp.id in taken:  # none for the unknown, once for the rest
            continue
        add_leave(session, employee=emp, data=data, actor="demo", now=now)
        added += 1
    return added


def door_punch(code: str, when: datetime, state: int, tz: str = "Europe/Berlin") -> RawPunch:
    """A fingerprint punch at the front door, as the history import brings it."""
    return RawPunch(
        employee_code=code,
        timestamp=when.replace(microsecond=0),
        source_kind=SourceKind.IMPORT,
        tz=tz,
        device_code="door-fp",
        verify=1,
        state=state,
    )
