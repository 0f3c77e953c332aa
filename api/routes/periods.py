"""Pay calendars, the close checklist, closing and reopening periods, and payroll export."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import AdminKey, HrKey, Principal
from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.payroll import payroll_response
from api.problems import PROBLEM_RESPONSES
from collector.periods.calendars import add_calendar
from collector.periods.close import (
    OVERRIDABLE,
    calendar_by_code,
    checklist,
    close_period,
    reopen_period,
    reopen_plan,
)
from collector.periods.payroll import profiles
from collector.runtime import utcnow
from collector.store.models import DayAdjustment, Department, PayCalendar, PayPeriod
from rules.payperiod import CycleKind

router = APIRouter(tags=["periods"], responses=PROBLEM_RESPONSES)


class CalendarIn(BaseModel):
    """A pay calendar: the cycle and who it pays (no department: the company's default)."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(default="", max_length=200)
    kind: CycleKind
    start_day: int = Field(default=1, ge=1, le=28, description="monthly kinds: first day")
    anchor: date | None = Field(default=None, description="weekly kinds: a period's first day")
    department: str | None = Field(default=None, description="department code, or none")


class CalendarOut(BaseModel):
    """A stored pay calendar."""

    id: int
    code: str
    name: str
    kind: str
    start_day: int
    anchor: date | None
    department: str | None


class CloseIn(BaseModel):
    """Close the period of `calendar` starting on `start`; overrides need a reason each."""

    calendar: str
    start: date
    overrides: dict[str, str] = Field(
        default_factory=dict,
        description=f"checklist item → reason; overridable: {', '.join(OVERRIDABLE)}",
    )


class ReopenIn(BaseModel):
    """Reopen a closed period (admins): without confirm, only says what would change."""

    reason: str = Field(default="", max_length=1000)
    confirm: bool = False


class PeriodOut(BaseModel):
    """A closed or reopened period."""

    id: int
    calendar: str
    start: date
    end: date
    status: str
    closed_at: datetime
    closed_by: str
    overrides: dict[str, str]
    employees: int
    reopened_at: datetime | None
    reopened_by: str | None


def _company(key: Principal) -> None:
    # Periods pay whole departments and the company: no partial view can close them.
    key.scope.check_everyone("pay periods")


def _calendar_out(cal: PayCalendar, dept: str | None) -> CalendarOut:
    return CalendarOut(
        id=cal.id,
        code=cal.code,
        name=cal.name,
        kind=cal.kind,
        start_day=cal.start_day,
        anchor=cal.anchor,
        department=dept,
    )


def _period_out(p: PayPeriod, code: str) -> PeriodOut:
    return PeriodOut(
        id=p.id,
        calendar=code,
        start=p.start,
        end=p.end,
        status=p.status,
        closed_at=p.closed_at,
        closed_by=p.closed_by,
        overrides=p.overrides or {},
        employees=p.employees,
        reopened_at=p.reopened_at,
        reopened_by=p.reopened_by,
    )


@router.get("/pay-calendars")
def list_calendars(key: HrKey, session: SessionDep) -> list[CalendarOut]:
    """Every pay calendar."""
    rows = session.execute(
        select(PayCalendar, Department.code)
        .outerjoin(Department, Department.id == PayCalendar.department_id)
        .order_by(PayCalendar.code)
    ).all()
    return [_calendar_out(c, d) for c, d in rows]


@router.post("/pay-calendars", status_code=201)
def create_calendar(body: CalendarIn, key: HrKey, session: TxDep) -> CalendarOut:
    """Add a pay calendar (one per department, one company default)."""
    _company(key)
    cal = add_calendar(
        session,
        code=body.code,
        kind=body.kind,
        start_day=body.start_day,
        anchor=body.anchor,
        department=body.department,
        name=body.name,
        actor=key.actor,
        now=utcnow(),
    )
    return _calendar_out(cal, body.department)


@router.get("/periods")
def list_periods(key: HrKey, session: SessionDep, calendar: str | None = None) -> list[PeriodOut]:
    """Closed and reopened periods, newest first."""
    query = (
        select(PayPeriod, PayCalendar.code)
        .join(PayCalendar, PayCalendar.id == PayPeriod.calendar_id)
        .order_by(PayPeriod.start.desc(), PayCalendar.code)
    )
    if calendar is not None:
        query = query.where(PayCalendar.code == calendar)
    return [_period_out(p, c) for p, c in session.execute(query)]


@router.get("/periods/checklist")
def get_checklist(
    key: HrKey,
    session: TxDep,
    calendar: str,
    start: Annotated[date, Query(description="the period's first day")],
) -> dict[str, Any]:
    """What needs HR before the period can close (its days are recomputed first)."""
    _company(key)
    cal = calendar_by_code(session, calendar)
    return checklist(session, cal, start, utcnow()).as_dict()


@router.post("/periods/close")
def close(body: CloseIn, key: HrKey, session: TxDep) -> PeriodOut:
    """Close a period: 409 lists what blocks it; closed days are frozen from then on."""
    _company(key)
    period, _ = close_period(
        session, body.calendar, body.start, actor=key.actor, now=utcnow(), overrides=body.overrides
    )
    return _period_out(period, body.calendar)


@router.post("/periods/{period_id}/reopen")
def reopen(period_id: RowId, body: ReopenIn, key: AdminKey, session: TxDep) -> dict[str, Any]:
    """Say what reopening changes; with confirm and a reason, reopen (admins, audited)."""
    if not body.confirm:
        _, plan = reopen_plan(session, period_id)
        return {"reopened": False, **plan.as_dict()}
    plan = reopen_period(session, period_id, actor=key.actor, reason=body.reason, now=utcnow())
    return {"reopened": True, **plan.as_dict()}


@router.get("/periods/{period_id}/adjustments")
def adjustments(period_id: RowId, key: HrKey, session: SessionDep) -> list[dict[str, Any]]:
    """Changes to this period's closed days, and those carried into it from earlier ones."""
    _company(key)
    D = DayAdjustment
    rows = session.scalars(
        select(D)
        .where((D.period_id == period_id) | (D.carried_period_id == period_id))
        .order_by(D.id)
    )
    return [
        {
            "id": a.id,
            "employee_id": a.employee_id,
            "date": a.local_date.isoformat(),
            "closed_in": a.period_id,
            "carried_into": a.carried_period_id,
            "created_at": a.created_at.isoformat(),
            "cause": a.cause,
            "delta": a.delta,
        }
        for a in rows
    ]


@router.get("/payroll-profiles")
def list_profiles(key: HrKey, store: StoreDep) -> list[dict[str, Any]]:
    """The export profiles: shipped ones and those in the profiles folder."""
    return [
        {"name": p.name, "title": p.title, "layout": p.layout, "columns": p.columns}
        for p in profiles(store.settings.payroll_profiles_dir).values()
    ]


@router.get("/periods/{period_id}/payroll", response_class=Response)
def payroll(
    period_id: RowId,
    key: HrKey,
    store: StoreDep,
    profile: str = "generic-wide-en",
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The closed period's payroll export in a profile's shape, streamed as CSV or XLSX."""
    _company(key)
    return payroll_response(store, period_id, profile, format)
