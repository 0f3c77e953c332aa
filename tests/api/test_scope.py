"""A department-scoped key gets nothing of another department, whichever route it calls.

The walk reads every path and method from the served OpenAPI document and fills each
parameter with ENG's ids, codes and names while the keys are scoped to OPS: no response
may show any of ENG, no write may change any of it, and naming ENG's rows answers exactly
as naming rows that do not exist. (test_scope_routes.py makes sure no route reads an
employee, assignment or punch id except through the scope's resolvers.)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from collector.apikeys import Role, create_key
from tests.api.conftest import auth
from tests.scope_support import (
    ENG_PEOPLE,
    MISSING_ID,
    as_if_foreign,
    filter_variants,
    fingerprint,
    leaks,
    response_text,
    seed_two_departments,
)

# Parameters that name an employee, an assignment, a punch or an employee's request.
SCOPED_NAMES = {"employee_id", "employee_code", "assignment_id", "punch_id", "request_id"}
# Path ids of shared master data: writes get an id nothing has, so the walk keeps its data.
SHARED_IDS = {"dept_id", "site_id", "policy_id", "device_id", "key_id"}
VARIED = ("format", "by")  # every value of these is walked (JSON, CSV and XLSX exports)
# GET routes that show ENG to an unscoped key of the same role: the walk's values reach data.
REVEALING = {
    Role.VIEWER: {
        "/punches",
        "/reports/board",
        "/reports/lateness",
        "/reports/attendance",
        "/reports/employee-day",
    },
    Role.HR: {
        "/employees",
        "/employees/{employee_id}",
        "/employees/{employee_id}/assignments",
        "/devices/{device_id}/commands",
        "/commands/{command_id}",
        "/quarantine",
        "/audit",
    },
}


@dataclass
class Call:
    """One request of the walk; `foreign` names the values that point at ENG's rows."""

    method: str
    template: str
    path: str
    query: dict[str, Any]
    json: Any = None
    files: dict[str, Any] | None = None
    filled: set[str] = field(default_factory=set)  # path and body names from the table

    @property
    def foreign(self) -> set[str]:
        """The names whose values point at ENG's rows (compared with rows that do not exist)."""
        return (self.filled | set(self.query)) & SCOPED_NAMES

    def send(self, client: TestClient, token: str):
        """Send it with `token`."""
        return client.request(
            self.method,
            self.path,
            params=self.query,
            json=self.json,
            files=self.files,
            headers=auth(token),
        )


class Walk:
    """Builds the walk's calls from the OpenAPI document and a table of values by name."""

    def __init__(self, schema: dict[str, Any], values: dict[str, Any]) -> None:
        self.schema = schema
        self.values = values

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def fill(self, node: dict[str, Any], name: str | None, used: set[str]) -> Any:
        """A value for a schema node: the table's by name, else a plain one of its type."""
        if name in self.values and _allowed(self, node, self.values[name]):
            used.add(name)
            return self.values[name]
        node = self.resolve(node)
        for option in node.get("anyOf", []):
            if option.get("type") != "null":
                return self.fill(option, name, used)
        if "enum" in node:
            return node["enum"][0]
        kind = node.get("type")
        if kind == "object":
            required = set(node.get("required", []))
            return {
                prop: self.fill(sub, prop, used)
                for prop, sub in node.get("properties", {}).items()
                if prop in required or prop in self.values
            }
        fmt = node.get("format", "")
        plain = {"integer": MISSING_ID, "number": 1.0, "boolean": False, "array": []}
        if kind in plain:
            return plain[kind]
        return {"date": self.values["from"], "date-time": self.values["timestamp"]}.get(fmt, "walk")

    def calls(self) -> Iterator[Call]:
        """Every path and method, each varied over the formats and with each filter alone."""
        for template, operations in self.schema["paths"].items():
            for method, op in operations.items():
                yield from self._calls(method.upper(), template, op)

    def _calls(self, method: str, template: str, op: dict[str, Any]) -> Iterator[Call]:
        used: set[str] = set()  # the names filled from the table (path and body)
        path = template
        query: dict[str, Any] = {}
        optional: list[str] = []
        choices: dict[str, list[Any]] = {}
        for param in op.get("parameters", []):
            name, where = param["name"], param["in"]
            if where == "path":
                value = self.fill(param["schema"], name, used)
                if method != "GET" and name in SHARED_IDS:
                    value = MISSING_ID
                path = path.replace("{" + name + "}", str(value))
            elif name in VARIED:
                choices[name] = _alternatives(self.resolve(param["schema"]))
            elif param.get("required") or name in self.values:
                query[name] = self.fill(param["schema"], name, set())
                if not param.get("required"):
                    optional.append(name)
        body, files = None, None
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = self.fill(content["application/json"]["schema"], None, used)
        if "multipart/form-data" in content:
            # The CSV import: a row that would move an ENG employee, were it accepted.
            files = {"file": ("people.csv", f"code,name\n{ENG_PEOPLE[0][0]},walk\n", "text/csv")}
        names = list(choices)
        for combo in itertools.product(*choices.values()):
            varied = dict(zip(names, combo, strict=True))
            yield Call(method, template, path, {**query, **varied}, body, files, used)
        for variant in filter_variants(query, optional)[1:]:
            yield Call(method, template, path, variant, body, files, used)


def _allowed(walk: Walk, node: dict[str, Any], value: Any) -> bool:
    """Whether the table's value fits the node's enum, if it has one (a name two routes share:
    `kind` is a command's there and a request's here)."""
    node = walk.resolve(node)
    options = [walk.resolve(o) for o in node.get("anyOf", [node]) if o.get("type") != "null"]
    enums = [o["enum"] for o in options if "enum" in o]
    return not enums or any(value in e for e in enums)


def _alternatives(node: dict[str, Any]) -> list[Any]:
    if "enum" in node:
        return list(node["enum"])
    found = re.fullmatch(r"\^\((.+)\)\$", node.get("pattern", ""))
    assert found is not None, node
    return found.group(1).split("|")


@pytest.fixture
def roomy_app(settings, store):
    """The app with a rate limit the walk's many requests do not reach."""
    store.settings = settings.model_copy(update={"api_rate_per_s": 1e6, "api_rate_burst": 10**6})
    return create_app(store.settings, store)


@pytest.fixture
def scoped(store, now, keys) -> dict[Role, str]:
    """Tokens of every role scoped to OPS (the keys fixture's department)."""
    with store.sessions.begin() as s:
        # No scoped admin key can be created any more; one made before that rule acts as hr.
        admin = create_key(s, name="ops-admin", role=Role.HR, now=now, department_code="OPS")
        admin.key.role = Role.ADMIN.value
    return {
        Role.VIEWER: keys.scoped_viewer,
        Role.MANAGER: keys.scoped_manager,
        Role.HR: keys.scoped_hr,
        Role.ADMIN: admin.token,
    }


@pytest.mark.parametrize("role", list(Role))
def test_a_scoped_key_gets_nothing_of_another_department(roomy_app, store, now, keys, scoped, role):
    client = TestClient(roomy_app, raise_server_exceptions=False)
    foreign = seed_two_departments(store, now, client, keys.hr)
    token, unscoped = scoped[role], keys.of(role)
    schema = client.get("/openapi.json", headers=auth(token)).json()
    walk = Walk(schema, foreign.values())
    missing = Walk(schema, foreign.missing_values())
    revealing: set[str] = set()
    calls = list(walk.calls())
    twins = list(missing.calls())
    assert len(calls) == len(twins) > 60
    problems: list[str] = []  # all of them, not only the first
    for call, twin in zip(calls, twins, strict=True):
        where = f"{call.method} {call.path} {call.query}"
        before = fingerprint(store, foreign) if call.method != "GET" else None
        answer = call.send(client, token)
        if answer.status_code >= 500:
            problems.append(f"{where}: {answer.status_code} {answer.text}")
        if shown := leaks(answer, foreign):
            problems.append(f"{where}: {answer.status_code} shows {shown}")
        if before is not None and fingerprint(store, foreign) != before:
            problems.append(f"{where}: {answer.status_code} changed ENG's rows")
        if call.foreign:
            # Naming ENG's rows answers exactly as naming rows that do not exist.
            other = twin.send(client, token)
            expected = as_if_foreign(response_text(other), call.foreign, walk.values)
            if answer.status_code == 422:  # the walk's values must pass validation
                problems.append(f"{where}: 422 {answer.text}")
            elif (answer.status_code, response_text(answer)) != (other.status_code, expected):
                problems.append(
                    f"{where}: {answer.status_code} for ENG's, {other.status_code} for none"
                )
        if call.method == "GET" and leaks(call.send(client, unscoped), foreign):
            revealing.add(call.template)
    assert problems == []
    # The walk's values reach ENG's data: the same calls with an unscoped key show it.
    should_reveal = REVEALING[Role.VIEWER] | (REVEALING[Role.HR] if role.allows(Role.HR) else set())
    assert should_reveal <= revealing


def test_an_admin_key_cannot_be_scoped_and_an_old_one_acts_as_hr(client, store, now, keys):
    refused = client.post(
        "/api-keys",
        json={"name": "ops-admin", "role": "admin", "department": "OPS"},
        headers=auth(keys.admin),
    )
    assert refused.status_code == 422, refused.text
    assert "admin key cannot be limited to a department" in refused.text
    with store.sessions.begin() as s:
        legacy = create_key(s, name="old", role=Role.HR, now=now, department_code="OPS")
        legacy.key.role = Role.ADMIN.value
    # Keys and shared master data are admin work: a scoped key may not do it.
    made = client.post(
        "/api-keys", json={"name": "escape", "role": "admin"}, headers=auth(legacy.token)
    )
    assert made.status_code == 403, made.text
    assert client.get("/api-keys", headers=auth(legacy.token)).status_code == 403
    dept = client.post(
        "/departments", json={"code": "NEW", "name": "New"}, headers=auth(legacy.token)
    )
    assert dept.status_code == 403, dept.text
    # What hr may do it still may, in its own department.
    assert client.get("/employees", headers=auth(legacy.token)).status_code == 200
