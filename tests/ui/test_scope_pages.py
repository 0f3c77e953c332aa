"""A visitor signed in with a department-scoped key sees nothing of another department.

Every page and form (read from the app's routes) is called with ENG's ids, codes and names
by a visitor signed in with a key scoped to OPS: no page or export may show any of ENG, no
form may change any of it, and naming ENG's rows answers exactly as naming rows that do not
exist. The API's walk is tests/api/test_scope.py.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.ui.session import UiRequirement
from collector.apikeys import Role
from tests.api.conftest import api_routes_of
from tests.scope_support import (
    as_if_foreign,
    filter_variants,
    fingerprint,
    leaks,
    response_text,
    seed_two_departments,
)
from tests.ui.conftest import csrf_of, sign_in

SCOPED_NAMES = {"employee_id", "employee_code", "assignment_id", "punch_id", "request_id"}
SKIPPED = {"/ui/sign-out"}  # it only ends the walk's own session
VARIED = {"format": ["csv", "xlsx"], "by": ["employee", "department"]}
REVEALING = {"/ui/today", "/ui/lateness", "/ui/lateness/export", "/ui/employee", "/ui/punches"}
# What changes between two renderings of one page: a form's fresh idempotency key, the clock.
VOLATILE = re.compile(r'value="([0-9a-f]{32}|\d{4}-\d\d-\d\dT\d\d:\d\d)"')


def requirement_of(route) -> UiRequirement | None:
    """The page's least-role declaration, if it is a page that needs a session."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, UiRequirement):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def dependants(dependant) -> Iterator[Any]:
    """A dependant and every sub-dependant under it."""
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def _params(tree: list[Any], kind: str) -> list[Any]:
    found = {p.alias: p for dependant in tree for p in getattr(dependant, kind)}
    return list(found.values())


Call = tuple[str, str, str, dict[str, Any], dict[str, Any]]


def page_calls(app, values: dict[str, Any], csrf: str) -> Iterator[Call]:
    """(method, route, path, query, form) for every page and form, filled from `values` by name."""
    for route in api_routes_of(app):
        if not route.path.startswith("/ui") or route.path in SKIPPED:
            continue
        if requirement_of(route) is None:
            continue  # sign-in and the stylesheet are open
        tree = list(dependants(route.dependant))
        path = route.path
        for param in _params(tree, "path_params"):
            path = path.replace("{" + param.name + "}", str(values[param.alias]))
        query: dict[str, Any] = {}
        choices: dict[str, list[str]] = {}
        optional: list[str] = []
        for param in _params(tree, "query_params"):
            if param.alias in VARIED:
                choices[param.alias] = VARIED[param.alias]
            elif param.alias in values:
                query[param.alias] = values[param.alias]
                if not param.field_info.is_required():
                    optional.append(param.alias)
            else:
                assert not param.field_info.is_required(), (
                    f"{route.path}: add a value for {param.alias}"
                )
        form: dict[str, Any] = {}
        for param in _params(tree, "body_params"):
            if param.alias == "csrf":
                form["csrf"] = csrf
            elif param.alias in values:
                form[param.alias] = values[param.alias]
            else:
                assert not param.field_info.is_required(), (
                    f"{route.path}: add a value for {param.alias}"
                )
        for method in route.methods or ():
            for combo in itertools.product(*choices.values()):
                varied = dict(zip(choices, combo, strict=True))
                yield method, route.path, path, {**query, **varied}, form
            for variant in filter_variants(query, optional)[1:]:
                yield method, route.path, path, variant, form


def send(client: TestClient, method: str, path: str, query: dict[str, Any], form: dict[str, Any]):
    """One page request, not following redirects (a form's success is a 303)."""
    return client.request(method, path, params=query, data=form or None, follow_redirects=False)


def masked(text: str) -> str:
    """A page without the values that differ between two renderings."""
    return VOLATILE.sub("", text)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER, Role.HR])
def test_pages_show_a_scoped_visitor_nothing_of_another_department(
    app, client, store, now, keys, role
):
    foreign = seed_two_departments(store, now, client, keys.hr)
    token = {
        Role.VIEWER: keys.scoped_viewer,
        Role.MANAGER: keys.scoped_manager,
        Role.HR: keys.scoped_hr,
    }[role]
    control = TestClient(app)
    sign_in(control, keys.of(role))
    csrf = csrf_of(sign_in(client, token).get("/ui/today").text)
    values = foreign.values()
    missing = foreign.missing_values()
    calls = list(page_calls(app, values, csrf))
    twins = list(page_calls(app, missing, csrf))
    assert len(calls) == len(twins) >= 12
    revealing: set[str] = set()
    problems: list[str] = []  # all of them, not only the first
    for (method, template, path, query, form), twin in zip(calls, twins, strict=True):
        where = f"{method} {path} {query}"
        before = fingerprint(store, foreign) if method == "POST" else None
        answer = send(client, method, path, query, form)
        sent = [*query.values(), *form.values()]
        if answer.status_code >= 500 or "sign-in" in answer.headers.get("location", ""):
            problems.append(f"{where}: {answer.status_code} {answer.headers.get('location')}")
        if shown := leaks(answer, foreign, sent):
            problems.append(f"{where}: {answer.status_code} shows {shown}")
        if before is not None and fingerprint(store, foreign) != before:
            problems.append(f"{where}: {answer.status_code} changed ENG's rows")
        named = sorted(SCOPED_NAMES & (set(query) | set(form) | _in_path(template)))
        if named:
            # Naming ENG's rows answers exactly as naming rows that do not exist.
            twin_method, _, twin_path, twin_query, twin_form = twin
            other = send(client, twin_method, twin_path, twin_query, twin_form)
            expected = masked(as_if_foreign(response_text(other), named, values))
            if answer.status_code == 422:  # the walk's values must pass validation
                problems.append(f"{where}: 422")
            elif (answer.status_code, masked(response_text(answer))) != (
                other.status_code,
                expected,
            ):
                problems.append(
                    f"{where}: {answer.status_code} for ENG's, {other.status_code} for none"
                )
        if method == "GET" and leaks(send(control, method, path, query, form), foreign, sent):
            revealing.add(template)
    assert problems == []
    assert revealing >= REVEALING


def _in_path(template: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", template))
