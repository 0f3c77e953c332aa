"""Employees: listed within the key's department scope; deleting keeps every punch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from sqlalchemy.orm import Session

from api.auth import AdminKey, HrKey, Principal
from api.deps import SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.masterdata import (
    EmployeeCreate,
    EmployeeImportResult,
    EmployeePublic,
    EmployeeUpdate,
)
from api.scope import AdminEmployee, HrEmployee
from collector.errors import PermissionDenied
from collector.masterdata import employees
from collector.masterdata.common import department_id
from collector.runtime import utcnow
from collector.store.models import Employee

router = APIRouter(prefix="/employees", tags=["master data"], responses=PROBLEM_RESPONSES)


def _public(session: Session, rows: list[Employee]) -> list[EmployeePublic]:
    codes = employees.codes_of(session, rows)
    out = []
    for e in rows:
        item = EmployeePublic.model_validate(e)
        item.department = codes["department"].get(e.department_id or 0)
        item.site = codes["site"].get(e.site_id or 0)
        out.append(item)
    return out


def _check_scope(session: Session, key: Principal, department: str | None) -> None:
    if not key.scope.everyone:
        key.scope.check_placement(department_id(session, department))


@router.get("")
def list_employees(
    key: HrKey,
    session: SessionDep,
    department: str | None = None,
    site: str | None = None,
    search: Annotated[str | None, Query(max_length=100)] = None,
    include_deleted: bool = False,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # beyond: 500 on SQLite
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EmployeePublic]:
    """Employees by code (deleted ones only when asked)."""
    rows = employees.list_employees(
        session,
        scope=key.scope,
        department=department,
        site=site,
        search=search,
        include_deleted=include_deleted,
        offset=offset,
        limit=limit,
    )
    return _public(session, rows)


@router.get("/{employee_id}")
def get_employee(emp: HrEmployee, session: SessionDep) -> EmployeePublic:
    """One employee."""
    return _public(session, [emp])[0]


@router.post("", status_code=201)
def create_employee(body: EmployeeCreate, key: AdminKey, session: TxDep) -> EmployeePublic:
    """Add an employee; punches already stored under its code are attached to it."""
    _check_scope(session, key, body.department)
    emp = employees.create_employee(session, values=body.model_dump(), now=utcnow())
    return _public(session, [emp])[0]


@router.post("/import")
def import_employees(
    file: Annotated[UploadFile, File(description="CSV: code,name,department,site,…")],
    key: AdminKey,
    session: TxDep,
) -> EmployeeImportResult:
    """Create or update employees from a CSV file; nothing changes if any row is invalid."""
    if not key.scope.everyone:
        raise PermissionDenied("a department-scoped key cannot bulk-import employees")
    data = file.file.read(employees.MAX_CSV_BYTES + 1)
    counts = employees.upsert_csv(session, data=data, now=utcnow())
    return EmployeeImportResult(**counts)


@router.patch("/{employee_id}")
def update_employee(
    emp: AdminEmployee, body: EmployeeUpdate, key: AdminKey, session: TxDep
) -> EmployeePublic:
    """Change an employee."""
    values = body.model_dump(exclude_unset=True)
    if "department" in values:
        _check_scope(session, key, values["department"])
    employees.update_employee(session, emp=emp, values=values)
    return _public(session, [emp])[0]


@router.delete("/{employee_id}")
def delete_employee(emp: AdminEmployee, session: TxDep) -> EmployeePublic:
    """Soft-delete an employee; its punches and results stay."""
    employees.delete_employee(session, emp=emp, now=utcnow())
    return _public(session, [emp])[0]
