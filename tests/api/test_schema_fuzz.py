"""Schemathesis over every read endpoint with an admin key: no 5xx, responses match the schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app

# Built without a store: generating the schema needs only the routes.
schema = schemathesis.openapi.from_dict(create_app().openapi()).include(method="GET")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_read_endpoint_fails_on_the_server(case, app, keys):
    response = case.call(app=app, headers={"Authorization": f"Bearer {keys.admin}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"]
