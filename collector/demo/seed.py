"""Demo master data and a day of history, so every page has something to show."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from collector.config import EmployeeConfig, PunchgateConfig, apply_config
from collector.normalize import RawPunch
from rules.vocabulary import SourceKind

FIRST = ["Anna", "Ben", "Chen", "Dara", "Emil", "Fatma", "Goran", "Hui", "Ines", "Jonas"]
LAST = ["Weber", "Li", "Novak", "Schulz", "Wang"]


def demo_employees(count: int = 20, policy_from: date | None = None) -> list[EmployeeConfig]:
    """Employees 1001… split over the two departments: ENG on flexitime, OPS on a day shift."""
    return [
        EmployeeConfig(
            code=str(1001 + i),
            name=f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
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
) -> None:
    """Apply the demo file plus the generated employees (under the demo policies)."""
    cfg = cfg.model_copy(update={"employees": demo_employees(policy_from=policy_from)})
    apply_config(session, cfg, now=now)


def history(day: date, *, seed: int = 7, tz: str = "Europe/Berlin") -> list[RawPunch]:
    """A plausible working day at the front door for employees 1001–1020."""
    rng = random.Random(seed + day.toordinal())
    out: list[RawPunch] = []
    for i in range(20):
        code = str(1001 + i)
        arrive = datetime.combine(day, time(8, 0)) + timedelta(minutes=rng.gauss(50, 35))
        leave = arrive + timedelta(hours=8.5, minutes=rng.gauss(0, 40))
        out += [door_punch(code, arrive, 0, tz), door_punch(code, leave, 1, tz)]
    return out


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
