"""HR reports, each as JSON, CSV or XLSX (format=…); dates are the employees' local dates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import ViewerKey
from api.deps import SessionDep, StoreDep
from api.export import Format, Layout, csv_response, respond, xlsx_response
from api.problems import PROBLEM_RESPONSES
from api.schemas.reports import EmployeeDayPublic, ReportPublic
from api.scope import ViewerEmployee
from collector.normalize import zone
from collector.reports.adherence import roster_adherence
from collector.reports.attendance import attendance_summary
from collector.reports.board import board
from collector.reports.departments import department_stats
from collector.reports.devices import device_health
from collector.reports.employee_day import employee_day
from collector.reports.lateness import lateness
from collector.runtime import utcnow

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROBLEM_RESPONSES)


REPORT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ReportPublic,
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
    }
}
FormatQ = Annotated[Format, Query(description="json, csv or xlsx")]
FromQ = Annotated[date, Query(alias="from", description="First local date (inclusive)")]
ToQ = Annotated[date, Query(alias="to", description="Last local date (inclusive)")]


@router.get("/board", responses=REPORT_DOC, response_class=Response)
def board_report(
    key: ViewerKey,
    store: StoreDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    format: FormatQ = Format.JSON,
) -> Response:
    """Each employee's status, first in, last out and late minutes for a date (default today)."""
    tz = store.settings.default_timezone
    when = day or utcnow().astimezone(zone(tz)).date()
    return respond(
        store,
        format,
        lambda conn: board(conn, day=when, default_tz=tz, scope=key.scope),
    )


@router.get("/lateness", responses=REPORT_DOC, response_class=Response)
def lateness_report(
    key: ViewerKey,
    store: StoreDep,
    start: FromQ,
    end: ToQ,
    by: Annotated[str, Query(pattern="^(employee|department)$")] = "employee",
    sort: Annotated[str, Query(max_length=40, description="e.g. -late_days, name")] = "-late_days",
    format: FormatQ = Format.JSON,
) -> Response:
    """Late days, total and average late minutes, lateness rate and early leaves."""
    return respond(
        store,
        format,
        lambda conn: lateness(conn, start=start, end=end, by=by, scope=key.scope, sort=sort),
    )


@router.get("/attendance", responses=REPORT_DOC, response_class=Response)
def attendance_report(
    key: ViewerKey, store: StoreDep, start: FromQ, end: ToQ, format: FormatQ = Format.JSON
) -> Response:
    """Per employee: day counts by status, worked hours, overtime by category, balance."""
    return respond(
        store,
        format,
        lambda conn: attendance_summary(conn, start=start, end=end, scope=key.scope),
    )


@router.get("/roster-adherence", responses=REPORT_DOC, response_class=Response)
def roster_adherence_report(
    key: ViewerKey, store: StoreDep, start: FromQ, end: ToQ, format: FormatQ = Format.JSON
) -> Response:
    """Per employee: rostered shifts kept, late, left early, missed, and rest days worked."""
    return respond(
        store,
        format,
        lambda conn: roster_adherence(conn, start=start, end=end, scope=key.scope),
    )


@router.get("/departments", responses=REPORT_DOC, response_class=Response)
def department_report(
    key: ViewerKey, store: StoreDep, start: FromQ, end: ToQ, format: FormatQ = Format.JSON
) -> Response:
    """Per department and ISO week: punch rate and lateness rate."""
    return respond(
        store,
        format,
        lambda conn: department_stats(conn, start=start, end=end, scope=key.scope),
    )


@router.get("/devices", responses=REPORT_DOC, response_class=Response)
def device_report(_: ViewerKey, store: StoreDep, format: FormatQ = Format.JSON) -> Response:
    """Every device with its status, clock skew and storage fill."""
    now = utcnow()
    return respond(store, format, lambda conn: device_health(conn, now=now))


@router.get(
    "/employee-day",
    responses={200: {"model": EmployeeDayPublic, "content": REPORT_DOC[200]["content"]}},
    response_class=Response,
)
def employee_day_report(
    emp: ViewerEmployee,
    session: SessionDep,
    store: StoreDep,
    day: Annotated[date, Query(alias="date")],
    format: FormatQ = Format.JSON,
) -> Response:
    """One employee's punches on a date, the policy in force and the explanation."""
    found = employee_day(session, emp=emp, day=day, default_tz=store.settings.default_timezone)
    report = found.punch_report()
    named = Layout(tags=(found.employee.code, day.isoformat()))
    if format is Format.CSV:
        return csv_response(report, named)
    if format is Format.XLSX:
        return xlsx_response(report, named)
    policy = found.policy
    body = EmployeeDayPublic(
        employee_id=found.employee.id,
        employee_code=found.employee.code,
        name=found.employee.name,
        date=day,
        timezone=found.timezone,
        policy=None
        if policy is None
        else {
            "id": policy.id,
            "name": policy.name,
            "kind": policy.kind,
            "document": policy.document,
        },
        result=found.summary(),
        punches=list(report.dicts()),
    )
    return Response(body.model_dump_json(), media_type="application/json")
