"""The app's "my day": one employee's punches today and what the day came to so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.days.context import Context
from collector.normalize import zone
from collector.phoneapp.devices import BoundPhone
from collector.store.models import AttendanceDay, Punch, Site
from rules.vocabulary import PunchFlag, PunchState


@dataclass(frozen=True, slots=True)
class DayPunch:
    """One stored punch as the app shows it."""

    at: datetime
    local_time: str
    state: str
    source: str
    site: str | None
    distance_m: float | None
    decision: str | None
    flags: list[str]


@dataclass(frozen=True, slots=True)
class MyDay:
    """The employee's local date, punches and the day's computed status (None until computed)."""

    date: date
    timezone: str
    punches: list[DayPunch] = field(default_factory=list)
    status: str | None = None
    worked_s: int = 0
    late_s: int = 0


def phone_zone(session: Session, *, phone: BoundPhone, default_tz: str) -> str:
    """The zone of the phone's employee's site (the service's default when there is none)."""
    if phone.site_id is None:
        return default_tz
    return session.scalar(select(Site.timezone).where(Site.id == phone.site_id)) or default_tz


def punches_breaks(session: Session, *, phone: BoundPhone, day: date) -> bool:
    """Whether the policy in force for the phone's employee on `day` has punched breaks."""
    ctx = Context()
    ctx.load(session.connection(), [phone.employee_id])
    found = ctx.policy_on(phone.employee_id, day)
    return found is not None and found[1].punches_breaks


def my_day(session: Session, *, phone: BoundPhone, now: datetime, default_tz: str) -> MyDay:
    """Only `phone`'s employee's punches and day: the query takes no id from the request."""
    tz = phone_zone(session, phone=phone, default_tz=default_tz)
    today = now.astimezone(zone(tz)).date()
    rows = session.execute(
        select(
            Punch.id,
            Punch.voids_punch_id,
            Punch.occurred_at,
            Punch.tz,
            Punch.state,
            Punch.source_kind,
            Punch.site_code,
            Punch.distance_m,
            Punch.geo_decision,
            Punch.flags,
        )
        .where(Punch.employee_code == phone.employee_code, Punch.local_date == today)
        .order_by(Punch.occurred_at)
    ).all()
    # A correction voids a punch by a row of its own: neither is a punch of the day any more.
    voided = {r[1] for r in rows if r[4] == PunchState.VOID.value}
    punches = [
        DayPunch(
            at=r[2],
            local_time=r[2].astimezone(zone(r[3])).strftime("%H:%M:%S"),
            state=r[4],
            source=r[5],
            site=r[6],
            distance_m=r[7],
            decision=r[8],
            flags=PunchFlag.names_of(r[9]) if r[9] else [],
        )
        for r in rows
        if r[4] != PunchState.VOID.value and r[0] not in voided
    ]
    day = session.execute(
        select(AttendanceDay.status, AttendanceDay.worked_s, AttendanceDay.late_s).where(
            AttendanceDay.employee_id == phone.employee_id, AttendanceDay.local_date == today
        )
    ).first()
    if day is None:
        return MyDay(today, tz, punches)
    return MyDay(today, tz, punches, day[0], day[1], day[2])
