"""The department scope: the one rule deciding which employees, and what of theirs, a caller sees.

A key limited to a department sees that department's employees and their punches, days,
assignments and reports. Anything of another department answers exactly as if it did not
exist (the same NotFound), so a scoped caller cannot even learn which ids exist elsewhere.
Every service that reads or changes employee-related rows takes a `Scope` and applies it
through the methods below; none compares department ids itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from collector.errors import NotFound, PermissionDenied
from collector.store.models import Employee, EmployeeRequest, Leave, PolicyAssignment, Punch

_Owned = TypeVar("_Owned", PolicyAssignment, Leave)


@dataclass(frozen=True, slots=True)
class Scope:
    """The employees a caller may see: one department's, or everyone's (department_id None)."""

    department_id: int | None = None

    @property
    def everyone(self) -> bool:
        """Whether this scope admits every employee (an unscoped key)."""
        return self.department_id is None

    def employees(self) -> ColumnElement[bool]:
        """The condition on `employees` rows this scope admits."""
        if self.department_id is None:
            return true()
        return Employee.department_id == self.department_id

    def employee_ids(self) -> Select[Any]:
        """The ids of the employees this scope admits (for `IN (…)` conditions)."""
        return select(Employee.id).where(self.employees())

    def restrict(
        self, query: Select[Any], employee_id: QueryableAttribute[int] | None = None
    ) -> Select[Any]:
        """`query` limited to the employees this scope admits.

        By the `employees` table the query joins, or, given `employee_id` (a column holding
        an employee's id), by that column.
        """
        if self.department_id is None:
            return query
        if employee_id is None:
            return query.where(self.employees())
        return query.where(employee_id.in_(self.employee_ids()))

    def admits(self, employee: Employee | None) -> bool:
        """Whether `employee` exists and is one this scope sees."""
        return employee is not None and (
            self.department_id is None or employee.department_id == self.department_id
        )

    def check_everyone(self, what: str) -> None:
        """Refuse a department-scoped caller `what`, which belongs to no one department."""
        if self.department_id is not None:
            raise PermissionDenied(f"{what} needs a key without a department scope")

    def check_placement(self, department_id: int | None) -> None:
        """Refuse to put an employee in a department outside this scope."""
        if self.department_id is not None and department_id != self.department_id:
            raise PermissionDenied("this key may only place employees in its own department")

    def employee(self, session: Session, employee_id: int, *, field: str | None = None) -> Employee:
        """The employee `employee_id` if this scope sees it; NotFound, as for no such id, if not."""
        found = session.get(Employee, employee_id)
        if found is None or not self.admits(found):
            raise NotFound(f"no employee {employee_id}", field=field)
        return found

    def punch(self, session: Session, punch_id: int) -> Punch:
        """The punch `punch_id` if its employee is one this scope sees; NotFound otherwise.

        A punch linked to no employee (an unknown code) belongs to no department, so only an
        unscoped caller sees it.
        """
        found = session.get(Punch, punch_id)
        if found is None or not (
            self.department_id is None
            or (
                found.employee_id is not None
                and self.admits(session.get(Employee, found.employee_id))
            )
        ):
            raise NotFound(f"no punch {punch_id}")
        return found

    def assignment(self, session: Session, assignment_id: int) -> PolicyAssignment:
        """The policy assignment `assignment_id` if its employee is one this scope sees."""
        return self._owned(session, PolicyAssignment, assignment_id, "assignment")

    def leave(self, session: Session, leave_id: int) -> Leave:
        """The leave entry `leave_id` if its employee is one this scope sees."""
        return self._owned(session, Leave, leave_id, "leave")

    def request(self, session: Session, request_id: int) -> EmployeeRequest:
        """The request `request_id` if the scope sees its employee (and a swap's other one)."""
        found = session.get(EmployeeRequest, request_id)
        if found is None or not (
            self.department_id is None
            or (
                self.admits(session.get(Employee, found.employee_id))
                and (
                    found.other_employee_id is None
                    or self.admits(session.get(Employee, found.other_employee_id))
                )
            )
        ):
            raise NotFound(f"no request {request_id}")
        return found

    def _owned(self, session: Session, model: type[_Owned], row_id: int, what: str) -> _Owned:
        """A row that belongs to an employee, if this scope sees that employee."""
        found = session.get(model, row_id)
        if found is None or not (
            self.department_id is None or self.admits(session.get(Employee, found.employee_id))
        ):
            raise NotFound(f"no {what} {row_id}")
        return found
