"""No route reads an employee, assignment or punch id except through the scope's resolvers.

So a new route cannot forget the department scope: naming such a parameter on a route, in
its path, query, form or body, fails here unless api.scope (or api.ui.scope) resolves it,
or the exemption below says why the service applies the Scope itself (each is walked by
test_scope.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from api import scope as api_scope
from api.app import create_app
from api.ui import scope as ui_scope
from tests.api.conftest import api_routes_of

# Parameters that name an employee, an assignment, a punch or an employee's request.
SCOPED_NAMES = {"employee_id", "employee_code", "assignment_id", "punch_id", "request_id"}
# The few that api.scope does not resolve, and why that is safe (test_scope.py walks each).
RESOLVED_ELSEWHERE = {
    ("/punches", "employee_id"): "a filter; the punch query is limited to the scope",
    ("/punches", "employee_code"): "a filter; the punch query is limited to the scope",
    ("/ui/punches", "employee_code"): "a filter; the punch query is limited to the scope",
    ("/corrections/add", "employee_id"): "a body field; corrections resolve it in the Scope",
    ("/requests", "employee_id"): "a filter; the request query is limited to the scope",
    ("/ui/requests/{request_id}/approve", "request_id"): "resolved by Scope.request in the"
    " decision's own transaction",
    ("/ui/requests/{request_id}/reject", "request_id"): "resolved by Scope.request in the"
    " decision's own transaction",
    ("/corrections/void", "punch_id"): "a body field; corrections resolve it in the Scope",
    ("/ui/punches/add", "employee_id"): "a form field; corrections resolve it in the Scope",
    ("/quarantine/{item_id}/reprocess", "employee_code"): "only unscoped keys may reprocess",
    ("/app/requests/{request_id}/cancel", "request_id"): "a phone's own employee's request only:"
    " looked up with the bound phone's employee (test_app.py walks it with another's id)",
}
RESOLVERS = (*api_scope.RESOLVERS, *ui_scope.RESOLVERS)


def params_of(dependant) -> Iterator[str]:
    """The names of a dependant's own path, query and body parameters (body fields too)."""
    for param in [*dependant.path_params, *dependant.query_params]:
        yield param.alias
    for param in dependant.body_params:
        yield param.alias
        annotation = param.field_info.annotation
        for model in (annotation, *get_args(annotation)):  # a body may be optional
            yield from getattr(model, "model_fields", {})


def dependants(dependant) -> Iterator[Any]:
    """A dependant and every sub-dependant under it."""
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def test_ids_reach_routes_only_through_the_scope():
    app = create_app()  # only the routes are needed
    resolved: set[str] = set()
    elsewhere: set[tuple[str, str]] = set()
    for route in api_routes_of(app):
        for dependant in dependants(route.dependant):
            for name in SCOPED_NAMES.intersection(params_of(dependant)):
                if dependant.call in RESOLVERS:
                    resolved.add(route.path)
                    continue
                where = (route.path, name)
                assert where in RESOLVED_ELSEWHERE, f"{where} does not go through api.scope"
                elsewhere.add(where)
    assert elsewhere == set(RESOLVED_ELSEWHERE)  # no stale exemption
    assert {
        "/employees/{employee_id}",
        "/employees/{employee_id}/assignments",
        "/assignments/{assignment_id}",
        "/reports/employee-day",
        "/ui/employee",
        "/ui/punches/{punch_id}/void",
    } <= resolved
