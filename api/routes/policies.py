"""Policies and their effective-dated assignments."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import AdminKey, HrKey
from api.deps import RowId, SessionDep, TxDep
from api.problems import PROBLEM_RESPONSES
from api.schemas.masterdata import (
    AssignmentCreate,
    AssignmentPublic,
    AssignmentUpdate,
    PolicyCreate,
    PolicyPublic,
    PolicyUpdate,
)
from api.scope import AdminAssignment, AdminEmployee, HrEmployee
from collector.masterdata import policies
from collector.masterdata.common import fetch
from collector.runtime import utcnow
from collector.store.models import Policy

router = APIRouter(tags=["master data"], responses=PROBLEM_RESPONSES)


@router.get("/policies")
def list_policies(_: HrKey, session: SessionDep) -> list[PolicyPublic]:
    """All policies."""
    return [PolicyPublic.model_validate(p) for p in policies.list_policies(session)]


@router.get("/policies/{policy_id}")
def get_policy(policy_id: RowId, _: HrKey, session: SessionDep) -> PolicyPublic:
    """One policy with its document."""
    return PolicyPublic.model_validate(fetch(session, Policy, policy_id, "policy"))


@router.post("/policies", status_code=201)
def create_policy(body: PolicyCreate, _: AdminKey, session: TxDep) -> PolicyPublic:
    """Add a policy."""
    policy = policies.create_policy(session, values=body.model_dump(), now=utcnow())
    return PolicyPublic.model_validate(policy)


@router.patch("/policies/{policy_id}")
def update_policy(
    policy_id: RowId, body: PolicyUpdate, _: AdminKey, session: TxDep
) -> PolicyPublic:
    """Change a policy; the days under it are marked for recomputation."""
    values = body.model_dump(exclude_unset=True)
    policy = policies.update_policy(session, policy_id=policy_id, values=values, now=utcnow())
    return PolicyPublic.model_validate(policy)


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: RowId, _: AdminKey, session: TxDep) -> Response:
    """Remove a policy no one is assigned to."""
    policies.delete_policy(session, policy_id=policy_id)
    return Response(status_code=204)


@router.get("/employees/{employee_id}/assignments")
def list_assignments(emp: HrEmployee, session: SessionDep) -> list[AssignmentPublic]:
    """An employee's policy assignments, oldest first."""
    rows = policies.list_assignments(session, emp=emp)
    return [AssignmentPublic.model_validate(a) for a in rows]


@router.post("/employees/{employee_id}/assignments", status_code=201)
def create_assignment(
    emp: AdminEmployee, body: AssignmentCreate, session: TxDep
) -> AssignmentPublic:
    """Put an employee under a policy from a date; affected days are recomputed."""
    row = policies.assign(session, emp=emp, **body.model_dump())
    return AssignmentPublic.model_validate(row)


@router.patch("/assignments/{assignment_id}")
def update_assignment(
    row: AdminAssignment, body: AssignmentUpdate, session: TxDep
) -> AssignmentPublic:
    """Change an assignment; days of its old and new range are recomputed."""
    values = body.model_dump(exclude_unset=True)
    policies.update_assignment(session, row=row, values=values)
    return AssignmentPublic.model_validate(row)


@router.delete("/assignments/{assignment_id}", status_code=204)
def delete_assignment(row: AdminAssignment, session: TxDep) -> Response:
    """Remove an assignment; the days it covered are recomputed."""
    policies.delete_assignment(session, row=row)
    return Response(status_code=204)
