"""The API against its own OpenAPI document: generated requests (valid ones and broken
ones), anonymous and as customer service, never get a server error or a status code the
document does not name, and every answer has the documented shape."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Bounded so that both callers together take about a minute on a two-core machine.
EXAMPLES = 30


def _staff_headers(app) -> dict:
    response = app.test_client().post("/api/v1/token",
                                      json={"username": "agent", "password": "demo"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def fuzz(app, headers: dict) -> None:
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in api.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case):
                case.call_and_validate(headers=headers, checks=CHECKS)
            try:
                call()
            except Unsatisfiable:
                # Nothing to break in a call without parameters or body (GET /healthz).
                assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.slow
def test_anonymous_callers_get_no_server_error(app):
    fuzz(app, {})


@pytest.mark.slow
def test_customer_service_gets_no_server_error(app):
    fuzz(app, _staff_headers(app))
