"""Lateness: per-department rates as bars, the weekly trend as lines, and per employee."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, StoreDep
from api.export import Format, Layout, respond
from api.ui.charts import Series, bar_chart, colour_of, line_chart
from api.ui.i18n import headers, label, language, translator
from api.ui.params import FromQ, TextQ, ToQ
from api.ui.render import page_errors, render
from api.ui.scope import PageZone
from api.ui.session import Viewer, ViewerPage
from collector.masterdata.common import department_id
from collector.masterdata.org import list_departments
from collector.masterdata.scope import Scope
from collector.normalize import zone
from collector.reports.departments import department_stats
from collector.reports.lateness import DEPARTMENT_COLUMNS, EMPLOYEE_COLUMNS, lateness
from collector.runtime import utcnow

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Choice:
    """The period and department a visitor picked, with defaults filled in."""

    start: date
    end: date
    department: str | None
    scope: Scope


def choose(
    session: Session,
    viewer: Viewer,
    tz: str,
    start: date | None,
    end: date | None,
    dept: str | None,
) -> Choice:
    """Default to the last four weeks; a scoped key only ever sees its own department."""
    today = utcnow().astimezone(zone(tz)).date()
    end = end or today
    start = start or end - timedelta(days=27)
    dept = dept or None
    scope = viewer.principal.scope
    if scope.everyone and dept is not None:
        scope = Scope(department_id(session, dept))
    return Choice(start, end, dept, scope)


@dataclass(frozen=True, slots=True)
class Trend:
    """The weekly chart's data: week labels, which are still in progress, the lines."""

    labels: list[str]
    provisional: list[bool]
    series: list[Series]


def trend(weeks: list[dict[str, Any]], overall: str, codes: list[str], today: date) -> Trend:
    """The overall rate and one line per department, from the report's weeks.

    A week without a day worked has no rate (not 0 %), and a week not yet over is marked
    provisional. Each department keeps the colour of its place in `codes`, every
    department's code in order, whichever department is chosen.
    """
    labels = sorted({w["week"] for w in weeks})
    monday = {w["week"]: date.fromisoformat(str(w["week_start"])[:10]) for w in weeks}
    by_dept: dict[str, dict[str, float | None]] = {}
    late: dict[str, int] = dict.fromkeys(labels, 0)
    worked: dict[str, int] = dict.fromkeys(labels, 0)
    for w in weeks:
        rate = w["lateness_rate"] if w["days_worked"] else None
        by_dept.setdefault(w["department"] or "—", {})[w["week"]] = rate
        late[w["week"]] += w["late_days"]
        worked[w["week"]] += w["days_worked"]
    series = [
        Series(overall, colour_of(0), [late[k] / worked[k] if worked[k] else None for k in labels])
    ]
    for name, rates in sorted(by_dept.items())[:6]:
        place = codes.index(name) + 1 if name in codes else len(codes) + 1
        series.append(Series(name, colour_of(place), [rates.get(k) for k in labels]))
    provisional = [monday[k] + timedelta(days=6) >= today for k in labels]
    return Trend(labels, provisional, series)


@router.get("/lateness", response_class=HTMLResponse)
def lateness_page(
    request: Request,
    viewer: ViewerPage,
    tz: PageZone,
    session: SessionDep,
    start: FromQ = None,
    end: ToQ = None,
    department: TextQ = None,
) -> Response:
    """The picker, the two charts, the per-department and per-employee tables."""
    catalogue = translator(language(request))
    with page_errors():
        c = choose(session, viewer, tz, start, end, department)
        conn = session.connection()
        depts = list(
            lateness(
                conn, start=c.start, end=c.end, by="department", scope=c.scope, sort="department"
            ).dicts()
        )
        people = list(
            lateness(conn, start=c.start, end=c.end, by="employee", scope=c.scope).dicts()
        )
        weeks = list(department_stats(conn, start=c.start, end=c.end, scope=c.scope).dicts())
    scope = viewer.principal.scope
    every = list_departments(session)
    today = utcnow().astimezone(zone(tz)).date()
    weekly = trend(weeks, label(catalogue, "all_departments"), [d.code for d in every], today)
    choices = [d for d in every if scope.department_id in (None, d.id)]
    return render(
        request,
        "lateness.html",
        viewer,
        choice=c,
        departments=choices,
        depts=depts,
        people=people,
        bars=bar_chart(
            [(d["department"] or "—", d["lateness_rate"]) for d in depts],
            title=label(catalogue, "by_department"),
        ),
        line=line_chart(
            weekly.labels,
            weekly.series,
            title=label(catalogue, "weekly_trend"),
            provisional=weekly.provisional,
        )
        if weekly.labels
        else None,
        in_progress=any(weekly.provisional),
        page="lateness",
    )


@router.get("/lateness/export")
def lateness_export(
    request: Request,
    viewer: ViewerPage,
    tz: PageZone,
    store: StoreDep,
    session: SessionDep,
    format: Format = Format.CSV,
    by: Annotated[str, Query(pattern="^(employee|department)$")] = "employee",
    start: FromQ = None,
    end: ToQ = None,
    department: TextQ = None,
) -> Response:
    """The page's per-employee or per-department table as CSV or XLSX, headed in the page's
    language and named for its period and department."""
    catalogue = translator(language(request))
    with page_errors():
        c = choose(session, viewer, tz, start, end, department)
        columns = EMPLOYEE_COLUMNS if by == "employee" else DEPARTMENT_COLUMNS
        layout = Layout(headers(catalogue, columns), tags=(c.department,) if c.department else ())
        return respond(
            store,
            format,
            lambda conn: lateness(conn, start=c.start, end=c.end, by=by, scope=c.scope),
            layout,
        )
