"""Today's board: each active employee's status, first in, last out and late minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from collector.masterdata.scope import Scope
from collector.reports.common import Report, active_on, local, minutes, utc
from collector.store.models import AttendanceDay, Department, Employee, Punch, Site
from rules.vocabulary import PunchState

A, E, D, P, S = AttendanceDay, Employee, Department, Punch, Site
COLUMNS = (
    "employee_id",
    "employee_code",
    "name",
    "department",
    "status",
    "first_in",
    "last_out",
    "late_minutes",
    "punches",
    "provisional",
)


def board(conn: Connection, *, day: date, default_tz: str, scope: Scope) -> Report:
    """The board for one local date; days not computed yet show their raw punches."""
    punches = (
        select(
            P.employee_id.label("employee_id"),
            func.min(P.occurred_at).label("first"),
            func.max(P.occurred_at).label("last"),
            func.count().label("n"),
        )
        .where(P.local_date == day, P.employee_id.is_not(None), P.state != PunchState.VOID.value)
        .group_by(P.employee_id)
        .subquery()
    )
    query = (
        select(
            E.id,
            E.code,
            E.name,
            D.code,
            A.status,
            A.first_in,
            A.last_out,
            A.late_s,
            punches.c.n,
            punches.c.first,
            punches.c.last,
            A.provisional,
            S.timezone,
        )
        .select_from(E)
        .outerjoin(D, D.id == E.department_id)
        .outerjoin(S, S.id == E.site_id)
        .outerjoin(A, (A.employee_id == E.id) & (A.local_date == day))
        .outerjoin(punches, punches.c.employee_id == E.id)
        .where(active_on(day, day))
        .order_by(E.code)
    )
    rows = conn.execute(scope.restrict(query))
    return Report(
        name="board", columns=COLUMNS, rows=_shape(rows, default_tz), meta={"date": day.isoformat()}
    )


def _shape(rows: Any, default_tz: str) -> Iterator[tuple[Any, ...]]:
    for (
        emp_id,
        code,
        name,
        dept,
        status,
        first_in,
        last_out,
        late_s,
        n,
        first,
        last,
        prov,
        tz,
    ) in rows:
        count = int(n or 0)
        if status is None:
            # Not computed yet: say what the punches show, never guess lateness.
            status = "pending" if count else "no_record"
            first_in, last_out = first, last if count > 1 else None
        yield (
            emp_id,
            code,
            name,
            dept,
            status,
            local(utc(first_in), tz, default_tz),
            local(utc(last_out), tz, default_tz),
            minutes(late_s),
            count,
            bool(prov) if prov is not None else status == "pending",
        )
