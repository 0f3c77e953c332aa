"""The app's "my month": the employee's own month from the figures HR's employee month shows.

The days, totals and balance are `collector.days.statement.period_statement` (the HR page's
statement) and the leave per type is `collector.workforce.leave.taken_between` (the quotas'
count); nothing here computes a figure a second way.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from collector.days.statement import period_statement
from collector.masterdata.scope import Scope
from collector.normalize import zone
from collector.phoneapp.devices import BoundPhone
from collector.phoneapp.myday import phone_zone
from collector.workforce.leave import list_leave, taken_between


@dataclass(frozen=True, slots=True)
class MonthDay:
    """One computed day as the calendar shows it (times local to the employee's zone)."""

    date: date
    status: str  # a DayStatus, or leave:<type>
    provisional: bool
    first_in: str | None  # "HH:MM"
    last_out: str | None
    worked_s: int
    target_s: int
    late_s: int
    early_leave_s: int
    balance_delta_s: int


@dataclass(frozen=True, slots=True)
class MonthBalance:
    """The time balance over the month (under a balance policy), as HR's statement has it."""

    opening_s: int
    change_s: int
    closing_s: int
    carried_s: int


@dataclass(frozen=True, slots=True)
class MyMonth:
    """The employee's month: the computed days, totals, balance and leave."""

    month: str  # "YYYY-MM"
    first: date
    last: date
    today: date
    timezone: str
    prev_month: str
    next_month: str
    days: list[MonthDay] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    worked_s: int = 0
    target_s: int = 0
    late_days: int = 0
    late_s: int = 0
    early_leave_days: int = 0
    balance: MonthBalance | None = None
    leave_days: dict[str, float] = field(default_factory=dict)  # leave type → days taken
    leave_on: dict[str, list[str]] = field(default_factory=dict)  # date → "type" or "type:am"


def month_text(day: date, months: int = 0) -> str:
    """'YYYY-MM' of the month `months` away from `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def my_month(
    session: Session, *, phone: BoundPhone, month: str | None, now: datetime, default_tz: str
) -> MyMonth:
    """Only `phone`'s employee's month ('YYYY-MM', this month by default)."""
    tz = phone_zone(session, phone=phone, default_tz=default_tz)
    today = now.astimezone(zone(tz)).date()
    year, mon = (int(p) for p in month.split("-")) if month else (today.year, today.month)
    first = date(year, mon, 1)
    last = date(year, mon, calendar.monthrange(year, mon)[1])
    st = period_statement(session.connection(), phone.employee_id, first, last)
    local = zone(st.zone)
    days = [
        MonthDay(
            d.day,
            d.status,
            d.provisional,
            None if d.first_in is None else d.first_in.astimezone(local).strftime("%H:%M"),
            None if d.last_out is None else d.last_out.astimezone(local).strftime("%H:%M"),
            d.worked_s,
            d.target_s,
            d.late_s,
            d.early_leave_s,
            d.balance_delta_s,
        )
        for d in st.days
    ]
    balance = None
    if st.balance is not None:
        b = st.balance
        balance = MonthBalance(b.opening_s, b.change_s, b.closing_s, b.carried_s)
    leave_on: dict[str, list[str]] = {}
    for entry in list_leave(
        session, scope=Scope(), start=first, end=last, employee_id=phone.employee_id
    ):
        mark = entry.leave_type if entry.part == "full" else f"{entry.leave_type}:{entry.part}"
        day = max(entry.start_date, first)
        while day <= min(entry.end_date, last):
            leave_on.setdefault(day.isoformat(), []).append(mark)
            day += timedelta(days=1)
    taken = taken_between(session, employee_id=phone.employee_id, start=first, end=last)
    return MyMonth(
        month=f"{first:%Y-%m}",
        first=first,
        last=last,
        today=today,
        timezone=st.zone,
        prev_month=month_text(first, -1),
        next_month=month_text(first, 1),
        days=days,
        statuses=st.statuses,
        worked_s=st.worked_s,
        target_s=st.target_s,
        late_days=st.late_days,
        late_s=st.late_s,
        early_leave_days=st.early_leave_days,
        balance=balance,
        leave_days={k: round(v, 3) for k, v in taken.items() if v},
        leave_on=leave_on,
    )
