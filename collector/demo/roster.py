"""Demo rosters: a factory department on the three-shift rotation, with a swap and its punches."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.days import assign_policy
from collector.demo.seed import door_punch
from collector.masterdata.scope import Scope
from collector.normalize import RawPunch
from collector.store.models import Department, Employee, Policy, Site
from collector.workforce import rosters

SHIFTS = [
    {"code": "E", "name": "Early", "color": "#fde68a", "shift": {"start": "06:00", "end": "14:00"}},
    {"code": "L", "name": "Late", "color": "#bfdbfe", "shift": {"start": "14:00", "end": "22:00"}},
    {
        "code": "N",
        "name": "Night",
        "color": "#c7d2fe",
        "shift": {"start": "22:00", "end": "06:00", "checkout_after_min": 240},
    },
]
CYCLE = "E E L L N N - -"
WORKERS = 8  # employees 2001–2008, two per step pair of the cycle
START = {"E": 6, "L": 14, "N": 22}


def seed_roster(session: Session, now: datetime, since: date) -> list[str]:
    """The FAC department rostered from `since`: shift types, the cycle, people, one swap."""
    if session.scalar(select(Department.id).where(Department.code == "FAC")) is not None:
        return []
    dept = Department(code="FAC", name="Factory (three shifts)")
    session.add(dept)
    site = session.scalar(select(Site.id).where(Site.code == "hq"))
    policy = session.scalar(select(Policy.id).where(Policy.name == "day-shift"))
    session.flush()
    everyone = Scope()
    for doc in SHIFTS:
        rosters.create_shift_type(session, scope=everyone, document=doc, now=now)
    pattern = rosters.create_pattern(
        session,
        scope=everyone,
        values={"name": "three-shift", "kind": "cycle", "codes": CYCLE, "anchor": since},
        now=now,
    )
    rosters.assign_pattern(
        session, department=dept, pattern_id=pattern.id, effective_from=since, effective_to=None
    )
    codes = []
    for i in range(WORKERS):
        emp = Employee(
            code=str(2001 + i), name=f"Worker {i + 1}", department_id=dept.id, site_id=site,
            created_at=now,
        )  # fmt: skip
        session.add(emp)
        session.flush()
        if policy is not None:
            assign_policy(
                session,
                employee_id=emp.id,
                policy_id=policy,
                effective_from=since,
                today=now.date(),
            )
        # Crews start the cycle on different days, so every shift is covered every day.
        rosters.assign_pattern(
            session,
            employee=emp,
            pattern_id=pattern.id,
            effective_from=since + timedelta(days=i % 4 * 2),
            effective_to=None,
        )
        codes.append(emp.code)
    first = session.scalar(select(Employee).where(Employee.code == "2001"))
    assert first is not None
    rosters.set_day(
        session, employee=first, day=now.date() - timedelta(days=3), code="-", note="swap"
    )
    return codes


def roster_history(session: Session, since: date, until: date, *, seed: int = 11) -> list[RawPunch]:
    """Punches of the rostered factory workers from `since` to the day before `until`."""
    from collector.days.roster_book import RosterBook

    factory = select(Department.id).where(Department.code == "FAC").scalar_subquery()
    emps = {
        e.code: e.id
        for e in session.scalars(select(Employee).where(Employee.department_id == factory))
    }
    book = RosterBook()
    book.load(session.connection(), emps.values(), since, until)
    rng = random.Random(seed)
    out: list[RawPunch] = []
    day = since
    while day < until:
        for code, eid in sorted(emps.items()):
            roster = book.of(eid)
            planned = None if roster is None else roster.planned(day)
            shift = None if planned is None else planned[0]
            if shift not in START or rng.random() < 0.05:
                continue
            arrive = datetime.combine(day, time(START[shift])) + timedelta(minutes=rng.gauss(-5, 7))
            leave = arrive + timedelta(hours=8, minutes=rng.gauss(8, 10))
            out += [door_punch(code, arrive, 0), door_punch(code, leave, 1)]
        day += timedelta(days=1)
    return out
