"""One employee's day: the punches, the policy in force and the explanation of the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from collector.reports.common import Report, local, minutes
from collector.store.models import AttendanceDay, Employee, Policy, PolicyAssignment, Punch, Site
from collector.workforce.requests import approved_overtime
from rules.vocabulary import PunchFlag, PunchState

PUNCH_COLUMNS = (
    "punch_id",
    "occurred_at",
    "local_time",
    "state",
    "source_kind",
    "device_code",
    "verify",
    "flags",
    "voided",
    "voids_punch_id",
    "note",
)


@dataclass(slots=True)
class EmployeeDay:
    """Everything known about one employee's local day."""

    employee: Employee
    day: date
    timezone: str
    punches: list[Punch]
    voided: set[int]
    policy: Policy | None
    result: AttendanceDay | None
    extra: dict[str, Any] = field(default_factory=dict)

    def punch_report(self) -> Report:
        """The punches as a report (for CSV and XLSX)."""
        rows = [
            (
                p.id,
                p.occurred_at,
                local(p.occurred_at, self.timezone, "UTC"),
                p.state,
                p.source_kind,
                p.device_code,
                p.verify,
                ",".join(PunchFlag.names_of(p.flags)),
                p.id in self.voided,
                p.voids_punch_id,
                p.note,
            )
            for p in self.punches
        ]
        return Report(name="employee-day", columns=PUNCH_COLUMNS, rows=rows)

    def summary(self) -> dict[str, Any]:
        """The computed result in report units (None when not computed yet)."""
        a = self.result
        approved = self.extra.get("approved_overtime_minutes", 0)
        if a is None:
            return {"computed": False, "approved_overtime_minutes": approved}
        return {
            "computed": True,
            "status": a.status,
            "provisional": a.provisional,
            "first_in": local(a.first_in, self.timezone, "UTC"),
            "last_out": local(a.last_out, self.timezone, "UTC"),
            "worked_minutes": minutes(a.worked_s),
            "break_minutes": minutes(a.break_s),
            "late_minutes": minutes(a.late_s),
            "early_leave_minutes": minutes(a.early_leave_s),
            "overtime_minutes": {k: minutes(v) for k, v in (a.overtime or {}).items()},
            # approved in advance by an overtime request (counted alone when the policy says so)
            "approved_overtime_minutes": approved,
            "balance_delta_minutes": minutes(a.balance_delta_s),
            "night_minutes": minutes(a.night_s),
            "anomalies": a.anomalies,
            "explanation": a.explanation,
            "computed_at": a.computed_at,
        }


def employee_day(session: Session, *, emp: Employee, day: date, default_tz: str) -> EmployeeDay:
    """The day's punches (those dated that day, and any inside its computed span).

    `emp` comes from the caller's Scope (collector.masterdata.scope), which decided it may
    be seen.
    """
    employee_id = emp.id
    site = session.get(Site, emp.site_id) if emp.site_id is not None else None
    tz = site.timezone if site is not None else default_tz
    result = session.scalar(
        select(AttendanceDay).where(
            AttendanceDay.employee_id == employee_id, AttendanceDay.local_date == day
        )
    )
    dated = and_(Punch.employee_id == employee_id, Punch.local_date == day)
    condition = dated
    if result is not None and result.first_in is not None and result.last_out is not None:
        # A night shift's punches after midnight carry the next date but belong here.
        span = and_(
            Punch.employee_id == employee_id,
            Punch.occurred_at >= result.first_in,
            Punch.occurred_at <= result.last_out,
        )
        condition = or_(dated, span)
    punches = list(
        session.scalars(select(Punch).where(condition).order_by(Punch.occurred_at, Punch.id))
    )
    voided = {
        p.voids_punch_id for p in punches if p.state == PunchState.VOID.value and p.voids_punch_id
    }
    policy = _policy_in_force(session, employee_id, day, result)
    return EmployeeDay(
        employee=emp,
        day=day,
        timezone=tz,
        punches=punches,
        voided={int(v) for v in voided if v is not None},
        policy=policy,
        result=result,
        extra={
            "approved_overtime_minutes": approved_overtime(
                session, employee_ids=[employee_id], start=day, end=day
            ).get((employee_id, day), 0)
        },
    )


def _policy_in_force(
    session: Session, employee_id: int, day: date, result: AttendanceDay | None
) -> Policy | None:
    if result is not None and result.policy_id is not None:
        return session.get(Policy, result.policy_id)
    assignment = session.scalar(
        select(PolicyAssignment)
        .where(
            PolicyAssignment.employee_id == employee_id,
            PolicyAssignment.effective_from <= day,
            or_(PolicyAssignment.effective_to.is_(None), PolicyAssignment.effective_to >= day),
        )
        .order_by(PolicyAssignment.effective_from.desc())
    )
    return None if assignment is None else session.get(Policy, assignment.policy_id)
