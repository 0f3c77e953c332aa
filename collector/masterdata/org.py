"""Departments and sites (with their GPS fences)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from collector.errors import Conflict, InvalidInput
from collector.masterdata.common import apply, fetch, flush
from collector.masterdata.scope import Scope
from collector.masterdata.zones import change_device_zone
from collector.normalize import NormalizeError, NormalizePolicy, zone
from collector.store.models import Department, Device, Employee, Site


def list_departments(session: Session) -> list[Department]:
    """All departments by code."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def create_department(session: Session, *, values: dict[str, Any]) -> Department:
    """Add a department."""
    dept = Department()
    _set_department(session, dept, values)
    session.add(dept)
    flush(session, f"department {values.get('code')!r}")
    return dept


def update_department(session: Session, *, dept_id: int, values: dict[str, Any]) -> Department:
    """Change a department's fields given in `values`."""
    dept = fetch(session, Department, dept_id, "department")
    _set_department(session, dept, values)
    flush(session, f"department {dept.code!r}")
    return dept


def delete_department(session: Session, *, dept_id: int) -> None:
    """Remove a department no employee, key or child department refers to."""
    dept = fetch(session, Department, dept_id, "department")
    used = session.scalar(
        select(
            exists().where(Employee.department_id == dept_id)
            | exists().where(Department.parent_id == dept_id)
        )
    )
    if used:
        raise Conflict(f"department {dept.code!r} still has employees or sub-departments")
    session.delete(dept)
    flush(session, f"department {dept.code!r}")


def _set_department(session: Session, dept: Department, values: dict[str, Any]) -> None:
    values = dict(values)
    if "parent_id" in values and values["parent_id"] is not None:
        parent = fetch(session, Department, values["parent_id"], "parent department")
        if dept.id is not None and parent.id == dept.id:
            raise InvalidInput("a department cannot be its own parent", field="parent_id")
    apply(dept, values)


def list_sites(session: Session) -> list[Site]:
    """All sites by code."""
    return list(session.scalars(select(Site).order_by(Site.code)))


def usual_zone(session: Session, *, scope: Scope, default: str) -> str:
    """The zone of the sites most of the scope's employees work at (`default` when none)."""
    count = func.count(Employee.id)
    query = (
        select(Site.timezone)
        .join(Employee, Employee.site_id == Site.id)
        .where(Employee.deleted_at.is_(None))
        .group_by(Site.timezone)
        .order_by(count.desc(), Site.timezone)
        .limit(1)
    )
    found = session.execute(scope.restrict(query)).scalar()
    return found or default


def create_site(session: Session, *, values: dict[str, Any]) -> Site:
    """Add a site."""
    _check_site(values)
    site = Site(fence={})
    apply(site, values)
    session.add(site)
    flush(session, f"site {values.get('code')!r}")
    return site


def update_site(
    session: Session,
    *,
    site_id: int,
    values: dict[str, Any],
    actor: str,
    now: datetime,
    policy: NormalizePolicy,
) -> Site:
    """Change a site's fields given in `values`; its devices on its old zone follow a new one."""
    _check_site(values)
    site = fetch(session, Site, site_id, "site")
    new_zone = values.get("timezone")
    if new_zone is not None and new_zone != site.timezone:
        # A device whose zone is its site's took it from the site (the default); one set
        # to another zone on purpose keeps it.
        inheriting = session.scalars(
            select(Device)
            .where(Device.site_id == site.id, Device.timezone == site.timezone)
            .order_by(Device.code)
        )
        for device in inheriting.all():
            change_device_zone(session, device, new_zone, actor=actor, now=now, policy=policy)
    apply(site, values)
    flush(session, f"site {site.code!r}")
    return site


def delete_site(session: Session, *, site_id: int) -> None:
    """Remove a site no employee or device refers to."""
    site = fetch(session, Site, site_id, "site")
    used = session.scalar(
        select(
            exists().where(Employee.site_id == site_id) | exists().where(Device.site_id == site_id)
        )
    )
    if used:
        raise Conflict(f"site {site.code!r} still has employees or devices")
    session.delete(site)
    flush(session, f"site {site.code!r}")


def _check_site(values: dict[str, Any]) -> None:
    if values.get("timezone") is not None:
        try:
            zone(values["timezone"])
        except NormalizeError as exc:
            raise InvalidInput(str(exc), field="timezone") from exc
