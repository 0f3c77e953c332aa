"""Departments and sites: read by hr, changed by admin."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import AdminKey, HrKey
from api.deps import RowId, SessionDep, StoreDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.masterdata import (
    DepartmentCreate,
    DepartmentPublic,
    DepartmentUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)
from collector.masterdata import org
from collector.masterdata.common import fetch
from collector.runtime import utcnow
from collector.store.models import Department, Site

router = APIRouter(tags=["master data"], responses=PROBLEM_RESPONSES)


@router.get("/departments")
def list_departments(_: HrKey, session: SessionDep) -> list[DepartmentPublic]:
    """All departments."""
    return [DepartmentPublic.model_validate(d) for d in org.list_departments(session)]


@router.get("/departments/{dept_id}")
def get_department(dept_id: RowId, _: HrKey, session: SessionDep) -> DepartmentPublic:
    """One department."""
    return DepartmentPublic.model_validate(fetch(session, Department, dept_id, "department"))


@router.post("/departments", status_code=201)
def create_department(body: DepartmentCreate, _: AdminKey, session: TxDep) -> DepartmentPublic:
    """Add a department."""
    dept = org.create_department(session, values=body.model_dump())
    return DepartmentPublic.model_validate(dept)


@router.patch("/departments/{dept_id}")
def update_department(
    dept_id: RowId, body: DepartmentUpdate, _: AdminKey, session: TxDep
) -> DepartmentPublic:
    """Change a department."""
    values = body.model_dump(exclude_unset=True)
    return DepartmentPublic.model_validate(
        org.update_department(session, dept_id=dept_id, values=values)
    )


@router.delete("/departments/{dept_id}", status_code=204)
def delete_department(dept_id: RowId, _: AdminKey, session: TxDep) -> Response:
    """Remove an unused department."""
    org.delete_department(session, dept_id=dept_id)
    return Response(status_code=204)


@router.get("/sites")
def list_sites(_: HrKey, session: SessionDep) -> list[SitePublic]:
    """All sites with their fences."""
    return [SitePublic.model_validate(s) for s in org.list_sites(session)]


@router.get("/sites/{site_id}")
def get_site(site_id: RowId, _: HrKey, session: SessionDep) -> SitePublic:
    """One site."""
    return SitePublic.model_validate(fetch(session, Site, site_id, "site"))


@router.post("/sites", status_code=201)
def create_site(body: SiteCreate, _: AdminKey, session: TxDep) -> SitePublic:
    """Add a site."""
    return SitePublic.model_validate(org.create_site(session, values=body.model_dump()))


@router.patch("/sites/{site_id}")
def update_site(
    site_id: RowId, body: SiteUpdate, key: AdminKey, store: StoreDep, session: TxDep
) -> SitePublic:
    """Change a site or its fence; devices on the site's zone follow a new one (re-timed)."""
    values = body.model_dump(exclude_unset=True)
    site = org.update_site(
        session,
        site_id=site_id,
        values=values,
        actor=key.actor,
        now=utcnow(),
        policy=store.policy,
    )
    return SitePublic.model_validate(site)


@router.delete("/sites/{site_id}", status_code=204)
def delete_site(site_id: RowId, _: AdminKey, session: TxDep) -> Response:
    """Remove an unused site."""
    org.delete_site(session, site_id=site_id)
    return Response(status_code=204)
