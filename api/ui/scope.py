"""The department scope on the pages: the twin of api.scope for ids in a page's path or query,
and the time zone of the sites that scope covers.

As in the API, a page never reads an employee or punch id itself; these dependencies load
the row within the visitor's Scope and answer the same 404 page whether it belongs to
another department or does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import BigRowId, RowId, SessionDep, StoreDep
from api.ui.render import page_errors
from api.ui.session import HrPage, ViewerPage
from collector.masterdata.org import usual_zone
from collector.store.models import Employee, Punch


def page_employee(
    viewer: ViewerPage, session: SessionDep, employee_id: RowId | None = None
) -> Employee | None:
    """The employee a page's `employee_id` names (None when the page names none)."""
    if employee_id is None:
        return None
    with page_errors():
        return viewer.principal.scope.employee(session, employee_id)


def hr_page_employee(viewer: HrPage, session: SessionDep, employee_id: RowId) -> Employee:
    """The employee a form's `employee_id` names, for an hr visitor or better."""
    with page_errors():
        return viewer.principal.scope.employee(session, employee_id)


def page_punch(punch_id: BigRowId, viewer: HrPage, session: SessionDep) -> Punch:
    """The punch a form's path names, for an hr visitor or better."""
    with page_errors():
        return viewer.principal.scope.punch(session, punch_id)


def page_zone(viewer: ViewerPage, store: StoreDep, session: SessionDep) -> str:
    """The zone a page's dates and default times are in: the sites' of the visitor's scope."""
    default = store.settings.default_timezone
    return usual_zone(session, scope=viewer.principal.scope, default=default)


PageZone = Annotated[str, Depends(page_zone)]
PageEmployee = Annotated[Employee | None, Depends(page_employee)]
HrPageEmployee = Annotated[Employee, Depends(hr_page_employee)]
PagePunch = Annotated[Punch, Depends(page_punch)]
RESOLVERS = (page_employee, hr_page_employee, page_punch)
