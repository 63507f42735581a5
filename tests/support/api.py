"""Calling the JSON API from a test: a staff token, and answers checked against the
OpenAPI document's schemas."""
from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

# Documents found valid, by their text: checking one takes a good part of a second, and
# every test that reads the document gets the same one.
_VALID_DOCUMENTS: set[str] = set()


def openapi_document(client) -> dict:
    """The API's own document, as served, after checking it is valid OpenAPI."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    text = json.dumps(document, sort_keys=True)
    if text not in _VALID_DOCUMENTS:
        validate_openapi(document)
        _VALID_DOCUMENTS.add(text)
    return document


def matches(document: dict, schema_name: str, body) -> None:
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]})
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors


def token(client, username: str) -> dict:
    response = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
