"""The department scope at the API's edge: employees and assignments named in a path or query.

A route never reads such an id itself: it declares one of the aliases below, which loads
the row within the caller's Scope (collector.masterdata.scope) after the key's role is
checked, and answers the same 404 whether the row belongs to another department or does not
exist. tests/api/test_scope.py fails for any route that takes such an id some other way.
Lists and reports apply the same Scope in their queries (`Principal.scope`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.auth import AdminKey, HrKey, ManagerKey, ViewerKey
from api.deps import RowId, SessionDep, TxDep
from collector.store.models import Employee, EmployeeRequest, Leave, PolicyAssignment


def viewer_employee(employee_id: RowId, key: ViewerKey, session: SessionDep) -> Employee:
    """The employee `employee_id` names, for a read by a viewer key or better."""
    return key.scope.employee(session, employee_id)


def hr_employee(employee_id: RowId, key: HrKey, session: SessionDep) -> Employee:
    """The employee `employee_id` names, for a read by an hr key or better."""
    return key.scope.employee(session, employee_id)


def hr_employee_tx(employee_id: RowId, key: HrKey, session: TxDep) -> Employee:
    """The employee `employee_id` names, loaded in the route's transaction, for an hr key."""
    return key.scope.employee(session, employee_id)


def hr_leave(leave_id: RowId, key: HrKey, session: TxDep) -> Leave:
    """The leave entry `leave_id` names, in the route's transaction, for an hr key."""
    return key.scope.leave(session, leave_id)


def manager_request(request_id: RowId, key: ManagerKey, session: SessionDep) -> EmployeeRequest:
    """The request `request_id` names, for a read by a manager key or better."""
    return key.scope.request(session, request_id)


def manager_request_tx(request_id: RowId, key: ManagerKey, session: TxDep) -> EmployeeRequest:
    """The request `request_id` names, in the route's transaction, for a manager or better."""
    return key.scope.request(session, request_id)


def hr_request_tx(request_id: RowId, key: HrKey, session: TxDep) -> EmployeeRequest:
    """The request `request_id` names, in the route's transaction, for an hr key."""
    return key.scope.request(session, request_id)


def admin_employee(employee_id: RowId, key: AdminKey, session: TxDep) -> Employee:
    """The employee `employee_id` names, loaded in the route's transaction, for an admin key."""
    return key.scope.employee(session, employee_id)


def admin_assignment(assignment_id: RowId, key: AdminKey, session: TxDep) -> PolicyAssignment:
    """The policy assignment `assignment_id` names, in the route's transaction, for an admin."""
    return key.scope.assignment(session, assignment_id)


ViewerEmployee = Annotated[Employee, Depends(viewer_employee)]
HrEmployee = Annotated[Employee, Depends(hr_employee)]
HrEmployeeTx = Annotated[Employee, Depends(hr_employee_tx)]
HrLeave = Annotated[Leave, Depends(hr_leave)]
ManagerRequest = Annotated[EmployeeRequest, Depends(manager_request)]
ManagerRequestTx = Annotated[EmployeeRequest, Depends(manager_request_tx)]
HrRequestTx = Annotated[EmployeeRequest, Depends(hr_request_tx)]
AdminEmployee = Annotated[Employee, Depends(admin_employee)]
AdminAssignment = Annotated[PolicyAssignment, Depends(admin_assignment)]
RESOLVERS = (
    viewer_employee,
    hr_employee,
    hr_employee_tx,
    hr_leave,
    manager_request,
    manager_request_tx,
    hr_request_tx,
    admin_employee,
    admin_assignment,
)
