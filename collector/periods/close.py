"""Closing a pay period: the checklist, the freeze, carrying adjustments, reopening."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from collector import audit
from collector.days.context import CHUNK, FED_BY
from collector.days.recompute import recompute
from collector.errors import Conflict, InvalidInput, NotFound
from collector.outbound.events import emit
from collector.outbound.payloads import period_event
from collector.store.ingest import mark_dirty
from collector.store.models import (
    AttendanceDay,
    ClosedDay,
    DayAdjustment,
    Device,
    Employee,
    PayCalendar,
    PayPeriod,
    Quarantine,
)
from collector.workforce.requests import pending_in
from rules.payperiod import CycleKind, PayCycle
from rules.vocabulary import DayStatus

# Checklist items HR may override with a reason; provisional days can only be resolved.
OVERRIDABLE = ("incomplete_days", "open_quarantine", "terminals_behind", "pending_requests")
BLOCKING = ("provisional_days",)


def cycle_of(cal: PayCalendar) -> PayCycle:
    """The rules' pay cycle of a stored calendar."""
    return PayCycle(CycleKind(cal.kind), cal.start_day, cal.anchor)


def calendar_by_code(session: Session, code: str) -> PayCalendar:
    """A pay calendar by its code, or NotFoundError."""
    cal = session.scalar(select(PayCalendar).where(PayCalendar.code == code))
    if cal is None:
        raise NotFound(f"no pay calendar {code!r}")
    return cal


def members(session: Session, cal: PayCalendar, start: date, end: date) -> list[int]:
    """Employees paid on this calendar and active at some point of [start, end]."""
    E = Employee
    query = select(E.id).where(
        or_(E.active_from.is_(None), E.active_from <= end),
        or_(E.active_to.is_(None), E.active_to >= start),
    )
    if cal.department_id is not None:
        query = query.where(E.department_id == cal.department_id)
    else:  # the company's cycle: everyone whose department has none of its own
        own = select(PayCalendar.department_id).where(PayCalendar.department_id.is_not(None))
        query = query.where(or_(E.department_id.is_(None), E.department_id.not_in(own)))
    return list(session.scalars(query.order_by(E.id)))


@dataclass
class Checklist:
    """What needs HR before a period can close; each item counts and shows examples."""

    calendar: str
    start: date
    end: date
    employees: int
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    adjustments_to_carry: int = 0

    def blockers(self, overrides: Mapping[str, str]) -> list[str]:
        """Items that stop the close: blocking ones with a count, others not overridden."""
        out = []
        for name, item in self.items.items():
            if not item["count"]:
                continue
            if name in BLOCKING or not (overrides.get(name) or "").strip():
                out.append(name)
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API and the page."""
        return {
            "calendar": self.calendar,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "employees": self.employees,
            "items": self.items,
            "adjustments_to_carry": self.adjustments_to_carry,
        }


class CloseBlocked(Conflict):
    """The checklist stops the close; carries the checklist for the caller to show."""

    def __init__(self, found: Checklist, blockers: list[str]) -> None:
        errors = [
            {
                "field": b,
                "message": f"{found.items[b]['count']} {b.replace('_', ' ')}"
                + (" (cannot be overridden)" if b in BLOCKING else " (resolve or override)"),
            }
            for b in blockers
        ]
        super().__init__(
            "the period cannot close: " + "; ".join(e["message"] for e in errors), errors=errors
        )
        self.checklist = found


def period_bounds(cal: PayCalendar, start: date) -> tuple[date, date]:
    """The period of `cal` starting on `start`, or ValidationError naming the right start."""
    cycle = cycle_of(cal)
    first, last = cycle.period_of(start)
    if first != start:
        raise InvalidInput(
            f"{start.isoformat()} is not the first day of a period of {cal.code}:"
            f" the period holding it runs {first.isoformat()} to {last.isoformat()}"
        )
    return first, last


def checklist(
    session: Session,
    cal: PayCalendar,
    start: date,
    now: datetime,
    windows: dict[tuple[int, date], frozenset[int]] | None = None,
) -> Checklist:
    """The checklist of the period of `cal` starting on `start`, after recomputing its days."""
    start, end = period_bounds(cal, start)
    emps = members(session, cal, start, end)
    _recompute(session, emps, start, end, now, windows)
    out = Checklist(cal.code, start, end, len(emps))
    A = AttendanceDay
    for name, status in (
        ("provisional_days", None),
        ("incomplete_days", DayStatus.INCOMPLETE.value),
    ):
        cond = A.provisional.is_(True) if status is None else A.status == status
        rows = _in_chunks(
            session,
            emps,
            lambda chunk, cond=cond: (
                select(A.employee_id, A.local_date)
                .where(A.employee_id.in_(chunk), A.local_date >= start, A.local_date <= end, cond)
                .order_by(A.local_date, A.employee_id)
            ),
        )
        out.items[name] = {
            "count": len(rows),
            "examples": [{"employee_id": e, "date": d.isoformat()} for e, d in rows[:20]],
        }
    q = Quarantine
    open_items = session.execute(
        select(q.id, q.reason, q.device_code)
        # Input received since the period began may hold its punches, however late it came.
        .where(q.status == "open", q.received_at >= _midnight_after(start - timedelta(days=2)))
        .order_by(q.id)
    ).all()
    out.items["open_quarantine"] = {
        "count": len(open_items),
        "examples": [{"id": i, "reason": r, "device": d} for i, r, d in open_items[:20]],
    }
    behind = session.execute(
        select(Device.code, Device.reported_until)
        .where(
            Device.enabled.is_(True),
            Device.kind.in_(FED_BY),
            or_(Device.reported_until.is_(None), Device.reported_until < _midnight_after(end)),
        )
        .order_by(Device.code)
    ).all()
    out.items["terminals_behind"] = {
        "count": len(behind),
        "examples": [
            {"device": c, "reported_until": u.isoformat() if u else None} for c, u in behind[:20]
        ],
    }
    waiting = pending_in(session, employee_ids=emps, start=start, end=end)
    out.items["pending_requests"] = {
        "count": len(waiting),
        "examples": [
            {"id": i, "employee_id": e, "kind": k, "date": d.isoformat()}
            for i, e, k, d in waiting[:20]
        ],
    }
    out.adjustments_to_carry = len(_uncarried(session, emps, start))
    return out


def close_period(
    session: Session,
    code: str,
    start: date,
    *,
    actor: str,
    now: datetime,
    overrides: Mapping[str, str] | None = None,
) -> tuple[PayPeriod, Checklist]:
    """Close the period in the caller's transaction, or ConflictError with what blocks it."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise InvalidInput(
            f"cannot override {', '.join(sorted(unknown))}: only {', '.join(OVERRIDABLE)} can be"
        )
    cal = calendar_by_code(session, code)
    start, end = period_bounds(cal, start)
    existing = session.scalar(
        select(PayPeriod).where(PayPeriod.calendar_id == cal.id, PayPeriod.start == start)
    )
    if existing is not None and existing.status == "closed":
        raise Conflict(f"{code} {start.isoformat()}–{end.isoformat()} is already closed")
    later = session.scalar(
        select(func.count())
        .select_from(PayPeriod)
        .where(
            PayPeriod.calendar_id == cal.id, PayPeriod.start > start, PayPeriod.status == "closed"
        )
    )
    if later:
        raise Conflict("a later period of this calendar is closed; reopen it first")
    windows: dict[tuple[int, date], frozenset[int]] = {}
    found = checklist(session, cal, start, now, windows)
    blockers = found.blockers(overrides)
    if blockers:
        raise CloseBlocked(found, blockers)
    used = {k: v for k, v in overrides.items() if found.items.get(k, {}).get("count")}
    if existing is None:
        period = PayPeriod(calendar_id=cal.id, start=start, end=end)
        session.add(period)
    else:
        period = existing
    period.status = "closed"
    period.closed_at = now
    period.closed_by = actor
    period.overrides = used
    period.employees = found.employees
    period.reopened_at = None
    period.reopened_by = None
    session.flush()
    emps = members(session, cal, start, end)
    frozen = _freeze(session, period, emps, start, end, windows)
    carried = _carry(session, period, emps, start)
    # Announced in the close's own transaction: subscribers hear of it exactly when it holds.
    emit(
        session.connection(),
        [period_event(code, period.id, start, end, found.employees, carried)],
        now=now,
    )
    audit.record(
        session,
        actor=actor,
        action="close",
        entity="pay_period",
        entity_id=period.id,
        now=now,
        reason="; ".join(f"{k}: {v}" for k, v in used.items()) or None,
        details={
            "calendar": code,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days_frozen": frozen,
            "adjustments_carried": carried,
            "checklist": {k: v["count"] for k, v in found.items.items()},
        },
    )
    return period, found


@dataclass
class ReopenPlan:
    """What reopening a period will change."""

    period_id: int
    days: int  # frozen days that become live again
    folded: list[dict[str, Any]]  # adjustments to its own days, folded back into them
    uncarried: int  # earlier adjustments it carried, waiting for the next close again

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "period_id": self.period_id,
            "days": self.days,
            "adjustments_folded_back": self.folded,
            "adjustments_uncarried": self.uncarried,
        }


def reopen_plan(session: Session, period_id: int) -> tuple[PayPeriod, ReopenPlan]:
    """What reopening would change, or ConflictError when it cannot be reopened."""
    period = session.get(PayPeriod, period_id)
    if period is None:
        raise NotFound(f"no pay period {period_id}")
    if period.status != "closed":
        raise Conflict("the period is not closed")
    later = session.scalar(
        select(func.count())
        .select_from(PayPeriod)
        .where(
            PayPeriod.calendar_id == period.calendar_id,
            PayPeriod.start > period.start,
            PayPeriod.status == "closed",
        )
    )
    if later:
        raise Conflict("only the latest closed period of a calendar can be reopened")
    days = session.scalar(
        select(func.count()).select_from(ClosedDay).where(ClosedDay.period_id == period.id)
    )
    D = DayAdjustment
    folded = session.execute(
        select(D.employee_id, D.local_date, D.cause, D.delta)
        .where(D.period_id == period.id, D.carried_period_id.is_(None))
        .order_by(D.id)
    ).all()
    uncarried = session.scalar(
        select(func.count()).select_from(D).where(D.carried_period_id == period.id)
    )
    plan = ReopenPlan(
        period.id,
        days or 0,
        [
            {"employee_id": e, "date": d.isoformat(), "cause": c, "delta": delta}
            for e, d, c, delta in folded
        ],
        uncarried or 0,
    )
    return period, plan


def reopen_period(
    session: Session, period_id: int, *, actor: str, reason: str, now: datetime
) -> ReopenPlan:
    """Reopen the latest closed period (admins), audited; its days recompute live again."""
    if not reason.strip():
        raise InvalidInput("reopening a period needs a reason")
    period, plan = reopen_plan(session, period_id)
    D = DayAdjustment
    days = [
        (e, d)
        for e, d in session.execute(
            select(ClosedDay.employee_id, ClosedDay.local_date).where(
                ClosedDay.period_id == period.id
            )
        )
    ]
    session.execute(delete(D).where(D.period_id == period.id, D.carried_period_id.is_(None)))
    session.execute(
        update(D).where(D.carried_period_id == period.id).values(carried_period_id=None)
    )
    session.execute(delete(ClosedDay).where(ClosedDay.period_id == period.id))
    period.status = "reopened"
    period.reopened_at = now
    period.reopened_by = actor
    mark_dirty(session.connection(), days)
    audit.record(
        session,
        actor=actor,
        action="reopen",
        entity="pay_period",
        entity_id=period.id,
        now=now,
        reason=reason,
        details={
            "days": plan.days,
            "adjustments_folded_back": len(plan.folded),
            "adjustments_uncarried": plan.uncarried,
        },
    )
    return plan


def _midnight_after(day: date) -> datetime:
    """The UTC instant a day ends at the latest, in any zone (UTC−12 ends 12 h later)."""
    return datetime.combine(day + timedelta(days=1), time(), UTC) + timedelta(hours=12)


def _recompute(
    session: Session,
    emps: list[int],
    start: date,
    end: date,
    now: datetime,
    windows: dict[tuple[int, date], frozenset[int]] | None,
) -> None:
    """Bring the period's days up to date before judging them (noting each day's punches)."""
    n = (end - start).days + 1
    days = [start + timedelta(days=i) for i in range(n)]
    conn = session.connection()
    step = max(1, 5000 // n)
    for i in range(0, len(emps), step):
        chunk = [(e, d) for e in emps[i : i + step] for d in days]
        recompute(conn, chunk, now=now, neighbours=False, windows=windows)


def _in_chunks(session: Session, emps: list[int], build: Any) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(emps), CHUNK):
        out += session.execute(build(emps[i : i + CHUNK])).all()
    return out


def _freeze(
    session: Session,
    period: PayPeriod,
    emps: list[int],
    start: date,
    end: date,
    windows: dict[tuple[int, date], frozenset[int]],
) -> int:
    """Record every computed day of the period as closed, with the punches it counted."""
    A = AttendanceDay
    rows = _in_chunks(
        session,
        emps,
        lambda chunk: select(A.employee_id, A.local_date, A.policy_id).where(
            A.employee_id.in_(chunk), A.local_date >= start, A.local_date <= end
        ),
    )
    if rows:
        session.execute(
            insert(ClosedDay),
            [
                {
                    "employee_id": e,
                    "local_date": d,
                    "period_id": period.id,
                    "policy_id": p,
                    "punch_ids": sorted(windows.get((e, d), ())),
                }
                for e, d, p in rows
            ],
        )
    return len(rows)


def _uncarried(session: Session, emps: list[int], start: date) -> list[int]:
    D = DayAdjustment
    return [
        r[0]
        for r in _in_chunks(
            session,
            emps,
            lambda chunk: select(D.id).where(
                D.employee_id.in_(chunk), D.carried_period_id.is_(None), D.local_date < start
            ),
        )
    ]


def _carry(session: Session, period: PayPeriod, emps: list[int], start: date) -> int:
    """Carry the waiting adjustments of earlier periods into this one."""
    ids = _uncarried(session, emps, start)
    for i in range(0, len(ids), CHUNK):
        session.execute(
            update(DayAdjustment)
            .where(DayAdjustment.id.in_(ids[i : i + CHUNK]))
            .values(carried_period_id=period.id)
        )
    return len(ids)
