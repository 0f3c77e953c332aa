"""Employees: CRUD with soft delete, department scoping, linking earlier punches, CSV upsert."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from collector.errors import Conflict, InvalidInput, NotFound
from collector.masterdata.common import apply, department_id, flush, site_id
from collector.masterdata.scope import Scope
from collector.normalize import NormalizeError, clean_code
from collector.store.ingest import link_employee
from collector.store.models import Department, Employee, Site

CSV_FIELDS = ("code", "name", "department", "site", "active_from", "active_to")
IDENTITY_PREFIX = "identity:"  # a CSV column "identity:owntracks" fills identities["owntracks"]
MAX_CSV_BYTES = 20 * 1024 * 1024


def list_employees(
    session: Session,
    *,
    scope: Scope,
    department: str | None = None,
    site: str | None = None,
    search: str | None = None,
    include_deleted: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[Employee]:
    """Employees `scope` sees, by code."""
    query = scope.restrict(select(Employee).order_by(Employee.code).offset(offset).limit(limit))
    if department is not None:
        query = query.where(Employee.department_id == department_id(session, department))
    if site is not None:
        query = query.where(Employee.site_id == site_id(session, site))
    if search:
        # Escaped: a '%' or '_' in the search is a character to find, not a wildcard.
        text = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{text}%"
        query = query.where(
            or_(Employee.code.like(like, escape="\\"), Employee.name.like(like, escape="\\"))
        )
    if not include_deleted:
        query = query.where(Employee.deleted_at.is_(None))
    return list(session.scalars(query))


def create_employee(session: Session, *, values: dict[str, Any], now: datetime) -> Employee:
    """Add an employee and attach the punches already stored under its code."""
    values = _resolve(session, values)
    if session.scalar(select(Employee.id).where(Employee.code == values["code"])) is not None:
        raise Conflict(f"an employee with code {values['code']!r} exists", field="code")
    emp = Employee(created_at=now, identities={}, name="")
    apply(emp, values)
    session.add(emp)
    flush(session, f"employee {emp.code!r}")
    link_employee(session.connection(), emp.id, [emp.code])
    return emp


def update_employee(session: Session, *, emp: Employee, values: dict[str, Any]) -> Employee:
    """Change the fields given in `values`; a new code attaches that code's punches too."""
    values = _resolve(session, values)
    old_code = emp.code
    apply(emp, values)
    _check_dates(emp.active_from, emp.active_to)
    flush(session, f"employee {emp.code!r}")
    if emp.code != old_code:
        link_employee(session.connection(), emp.id, [emp.code])
    return emp


def delete_employee(session: Session, *, emp: Employee, now: datetime) -> Employee:
    """Soft-delete: the employee disappears from lists, every punch stays."""
    if emp.deleted_at is not None:
        raise Conflict(f"employee {emp.id} is already deleted")
    emp.deleted_at = now
    return emp


def codes_of(session: Session, employees: Iterable[Employee]) -> dict[str, dict[int, str]]:
    """Department and site codes for the ids the given employees refer to."""
    rows = list(employees)
    dept_ids = {e.department_id for e in rows if e.department_id is not None}
    site_ids = {e.site_id for e in rows if e.site_id is not None}
    depts: dict[int, str] = {}
    sites: dict[int, str] = {}
    if dept_ids:
        query = select(Department.id, Department.code).where(Department.id.in_(dept_ids))
        depts = {i: c for i, c in session.execute(query)}
    if site_ids:
        query2 = select(Site.id, Site.code).where(Site.id.in_(site_ids))
        sites = {i: c for i, c in session.execute(query2)}
    return {"department": depts, "site": sites}


def upsert_csv(session: Session, *, data: bytes, now: datetime) -> dict[str, int]:
    """Create or update employees from CSV (header: code,name,department,site,…); all or none."""
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_CSV_BYTES} bytes", field="file")
    try:
        textual = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8: {exc.reason}", field="file") from exc
    reader = csv.DictReader(io.StringIO(textual))
    header = [h.strip() for h in reader.fieldnames or []]
    if "code" not in header:
        raise InvalidInput("the CSV header has no 'code' column", field="file")
    unknown = [h for h in header if h not in CSV_FIELDS and not h.startswith(IDENTITY_PREFIX)]
    if unknown:
        raise InvalidInput(f"unknown CSV columns: {', '.join(unknown)}", field="file")
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in enumerate(reader, start=2):
        try:
            parsed.append((line, _csv_values(session, row)))
        except (InvalidInput, NotFound) as exc:
            errors.append({"line": line, "field": exc.field, "message": exc.detail})
    if errors:
        raise InvalidInput(f"{len(errors)} rows are invalid; nothing was changed", errors=errors)
    existing = {e.code: e for e in session.scalars(select(Employee))}
    counts = {"created": 0, "updated": 0}
    for _line, values in parsed:
        emp = existing.get(values["code"])
        if emp is None:
            existing[values["code"]] = create_employee(session, values=values, now=now)
            counts["created"] += 1
        else:
            apply(emp, values)
            counts["updated"] += 1
    flush(session, "employees from CSV")
    return counts


def _csv_values(session: Session, row: dict[str | Any, str | Any]) -> dict[str, Any]:
    cells = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
    values: dict[str, Any] = {"code": cells.get("code", "")}
    for name in ("name", "department", "site"):
        if name in cells:
            values[name] = cells[name] or (None if name != "name" else "")
    for name in ("active_from", "active_to"):
        if name in cells:
            try:
                values[name] = date.fromisoformat(cells[name]) if cells[name] else None
            except ValueError:
                raise InvalidInput(
                    f"{cells[name]!r} is not a YYYY-MM-DD date", field=name
                ) from None
    identities = {
        k[len(IDENTITY_PREFIX) :]: v
        for k, v in cells.items()
        if k.startswith(IDENTITY_PREFIX) and v
    }
    if identities:
        values["identities"] = identities
    return _resolve(session, values)


def _resolve(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "code" in values:
        try:
            values["code"] = clean_code(values["code"])
        except NormalizeError as exc:
            raise InvalidInput(str(exc), field="code") from exc
    if "department" in values:
        values["department_id"] = department_id(session, values.pop("department"))
    if "site" in values:
        values["site_id"] = site_id(session, values.pop("site"))
    _check_dates(values.get("active_from"), values.get("active_to"))
    return values


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInput("active_to is before active_from", field="active_to")
