"""Rosters: shift types, patterns, their assignments, day entries and the resolved roster."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import HrKey
from api.deps import RowId, SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.rosters import (
    PatternCreate,
    PatternPublic,
    PatternUpdate,
    RosterAssignmentCreate,
    RosterAssignmentPublic,
    RosterDayPublic,
    RosterDaySet,
    RosterRow,
    ShiftTypeCreate,
    ShiftTypeFields,
    ShiftTypePublic,
)
from api.scope import HrEmployee, HrEmployeeTx
from collector.runtime import utcnow
from collector.workforce import rosters

router = APIRouter(tags=["rosters"], responses=PROBLEM_RESPONSES)


@router.get("/shift-types")
def list_shift_types(_: HrKey, session: SessionDep) -> list[ShiftTypePublic]:
    """All shift types."""
    return [ShiftTypePublic.model_validate(t) for t in rosters.list_shift_types(session)]


@router.post("/shift-types", status_code=201)
def create_shift_type(body: ShiftTypeCreate, key: HrKey, session: TxDep) -> ShiftTypePublic:
    """Add a shift type (a key without a department scope)."""
    row = rosters.create_shift_type(
        session, scope=key.scope, document=body.model_dump(exclude_none=True), now=utcnow()
    )
    return ShiftTypePublic.model_validate(row)


@router.put("/shift-types/{shift_type_id}")
def update_shift_type(
    shift_type_id: RowId, body: ShiftTypeFields, key: HrKey, session: TxDep
) -> ShiftTypePublic:
    """Replace a shift type's document; its rostered days are recomputed."""
    row = rosters.update_shift_type(
        session,
        scope=key.scope,
        type_id=shift_type_id,
        document=body.model_dump(exclude_none=True),
        now=utcnow(),
    )
    return ShiftTypePublic.model_validate(row)


@router.delete("/shift-types/{shift_type_id}", status_code=204)
def delete_shift_type(shift_type_id: RowId, key: HrKey, session: TxDep) -> Response:
    """Remove a shift type nothing rosters."""
    rosters.delete_shift_type(session, scope=key.scope, type_id=shift_type_id)
    return Response(status_code=204)


@router.get("/shift-patterns")
def list_patterns(_: HrKey, session: SessionDep) -> list[PatternPublic]:
    """All roster patterns."""
    return [PatternPublic.model_validate(p) for p in rosters.list_patterns(session)]


@router.post("/shift-patterns", status_code=201)
def create_pattern(body: PatternCreate, key: HrKey, session: TxDep) -> PatternPublic:
    """Add a pattern (a key without a department scope)."""
    row = rosters.create_pattern(session, scope=key.scope, values=body.model_dump(), now=utcnow())
    return PatternPublic.model_validate(row)


@router.patch("/shift-patterns/{pattern_id}")
def update_pattern(
    pattern_id: RowId, body: PatternUpdate, key: HrKey, session: TxDep
) -> PatternPublic:
    """Change a pattern; the days of everyone on it are recomputed."""
    row = rosters.update_pattern(
        session,
        scope=key.scope,
        pattern_id=pattern_id,
        values=body.model_dump(exclude_unset=True),
        now=utcnow(),
    )
    return PatternPublic.model_validate(row)


@router.delete("/shift-patterns/{pattern_id}", status_code=204)
def delete_pattern(pattern_id: RowId, key: HrKey, session: TxDep) -> Response:
    """Remove a pattern nobody is assigned."""
    rosters.delete_pattern(session, scope=key.scope, pattern_id=pattern_id)
    return Response(status_code=204)


@router.get("/employees/{employee_id}/roster-assignments")
def list_employee_assignments(emp: HrEmployee, session: SessionDep) -> list[RosterAssignmentPublic]:
    """An employee's own pattern assignments, oldest first."""
    rows = rosters.list_assignments(session, employee=emp)
    return [RosterAssignmentPublic.model_validate(a) for a in rows]


@router.post("/employees/{employee_id}/roster-assignments", status_code=201)
def assign_employee(
    emp: HrEmployeeTx, body: RosterAssignmentCreate, session: TxDep
) -> RosterAssignmentPublic:
    """Roster an employee on a pattern from a date; the days it covers are recomputed."""
    row = rosters.assign_pattern(session, employee=emp, **body.model_dump())
    return RosterAssignmentPublic.model_validate(row)


@router.get("/departments/{dept_id}/roster-assignments")
def list_department_assignments(
    dept_id: RowId, key: HrKey, session: SessionDep
) -> list[RosterAssignmentPublic]:
    """A department's pattern assignments, oldest first."""
    dept = rosters.department_in_scope(session, key.scope, dept_id)
    rows = rosters.list_assignments(session, department_id=dept.id)
    return [RosterAssignmentPublic.model_validate(a) for a in rows]


@router.post("/departments/{dept_id}/roster-assignments", status_code=201)
def assign_department(
    dept_id: RowId, body: RosterAssignmentCreate, key: HrKey, session: TxDep
) -> RosterAssignmentPublic:
    """Roster a whole department on a pattern from a date; its members' days are recomputed."""
    dept = rosters.department_in_scope(session, key.scope, dept_id)
    row = rosters.assign_pattern(session, department=dept, **body.model_dump())
    return RosterAssignmentPublic.model_validate(row)


@router.delete("/roster-assignments/{roster_assignment_id}", status_code=204)
def delete_assignment(roster_assignment_id: RowId, key: HrKey, session: TxDep) -> Response:
    """Remove a roster assignment; the days it covered are recomputed."""
    row = rosters.assignment_in_scope(session, key.scope, roster_assignment_id)
    rosters.delete_assignment(session, row=row)
    return Response(status_code=204)


@router.put("/employees/{employee_id}/roster-days/{day}")
def set_roster_day(
    emp: HrEmployeeTx, day: date, body: RosterDaySet, session: TxDep
) -> RosterDayPublic:
    """Roster one day explicitly (a swap, an extra shift, a day off); the day is recomputed."""
    row = rosters.set_day(session, employee=emp, day=day, code=body.code, note=body.note)
    return RosterDayPublic.model_validate(row)


@router.delete("/employees/{employee_id}/roster-days/{day}", status_code=204)
def clear_roster_day(emp: HrEmployeeTx, day: date, session: TxDep) -> Response:
    """Remove a day's explicit entry: the pattern plans it again."""
    rosters.clear_day(session, employee=emp, day=day)
    return Response(status_code=204)


@router.get("/departments/{dept_id}/roster")
def department_roster(
    dept_id: RowId,
    key: HrKey,
    session: SessionDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> list[RosterRow]:
    """The resolved roster of a department's employees, per date (at most 62 days)."""
    dept = rosters.department_in_scope(session, key.scope, dept_id)
    rows = rosters.resolved_roster(session, department=dept, start=start, end=end)
    return [RosterRow.model_validate(r) for r in rows]
