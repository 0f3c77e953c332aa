"""Schemathesis over the writing endpoints (POST/PUT/PATCH/DELETE) with an admin key.

No 5xx and no response that contradicts its documented schema; the examples are
derandomised so a failure reproduces. (Reads are in test_schema_fuzz.py.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app

schema = schemathesis.openapi.from_dict(create_app().openapi()).include(
    method=["POST", "PUT", "PATCH", "DELETE"]
)


@pytest.fixture
def roomy_app(settings, store):
    """The app with a rate limit the fuzzer's burst of requests does not reach."""
    store.settings = settings.model_copy(update={"api_rate_per_s": 1e6, "api_rate_burst": 10**6})
    return create_app(store.settings, store)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_write_endpoint_fails_or_breaks_its_schema(case, roomy_app, keys):
    response = case.call(app=roomy_app, headers={"Authorization": f"Bearer {keys.admin}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    if response.status_code >= 400:
        assert response.headers["content-type"] == ["application/problem+json"]
