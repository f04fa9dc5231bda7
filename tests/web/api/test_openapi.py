"""The OpenAPI 3.1 document: every declared endpoint with its scope, parameters and schemas,
and real responses that conform to the schemas it publishes."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from plugin.web.api.declare import ENDPOINTS
from plugin.web.api.openapi import openapi_path

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        *_, kind, name = schema["$ref"].split("/")
        schema = document["components"][kind][name]
    return schema


def conform(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """Assert ``value`` matches ``schema`` (the JSON Schema subset apispec emits)."""
    schema = _resolve(document, schema)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        ok = any(isinstance(value, TYPES[k]) for k in kinds)
        ok = ok and not (isinstance(value, bool) and "boolean" not in kinds)
        assert ok, f"{where}: {value!r} is not {kinds}"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, f"{where}: {name} missing"
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(properties), f"{where}: extra {set(value) - set(properties)}"
        for name, item in value.items():
            if name in properties:
                conform(document, properties[name], item, f"{where}.{name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                conform(document, schema["additionalProperties"], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            conform(document, schema["items"], item, f"{where}[{index}]")


def test_document_is_openapi_3_1_with_both_security_schemes(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    assert schemes["launchToken"]["in"] == "query" and schemes["launchToken"]["name"] == "lt"
    assert "Bearer lt." in schemes["launchToken"]["description"]


def test_every_declared_endpoint_is_documented_with_its_scope(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    for endpoint in ENDPOINTS:
        path, parameters = openapi_path(endpoint.rule)
        operation = document["paths"]["/api/v1" + path]["get"]
        assert operation["operationId"] == endpoint.name
        assert operation["summary"]
        expected = [{"launchToken": []}] if endpoint.launch else [{"bearerToken": [endpoint.scope]}]
        assert operation["security"] == expected
        names = {p["name"] for p in operation["parameters"]}
        assert {p["name"] for p in parameters} <= names
        assert {"200", "401", "403", "404"} <= set(operation["responses"])
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_paginated_endpoints_document_page_limits(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/modules"]["get"]
    per_page = next(p for p in operation["parameters"] if p["name"] == "per_page")
    assert per_page["in"] == "query"
    assert per_page["schema"]["maximum"] == 100 and per_page["schema"]["minimum"] == 1
    assert {"q", "item", "page"} <= {p["name"] for p in operation["parameters"]}
    person = document["paths"]["/api/v1/persons/{person_id}"]["get"]
    assert person["parameters"][0] == {
        "in": "path",
        "name": "person_id",
        "required": True,
        "schema": {"type": "integer"},
    }


def test_every_ref_in_the_document_resolves(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                _resolve(document, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_catalog_responses_conform_to_the_published_schemas(
    client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    module = client.get("/api/v1/modules?per_page=1", headers=all_scopes).get_json()["items"][0]
    urls = {
        "/api/v1/frameworks": "/api/v1/frameworks",
        "/api/v1/frameworks/{key}": "/api/v1/frameworks/tw-civil-service-dc",
        "/api/v1/modules": "/api/v1/modules?item=DC1-K2",
        "/api/v1/modules/{key}": module["href"],
        "/api/v1/coverage": "/api/v1/coverage",
        "/api/v1/persons": "/api/v1/persons",
    }
    for path, url in urls.items():
        operation = document["paths"][path]["get"]
        response = client.get(url, headers=all_scopes)
        assert response.status_code == 200, url
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        conform(document, schema, response.get_json(), url)
    error = client.get("/api/v1/modules?per_page=500", headers=all_scopes).get_json()
    conform(document, {"$ref": "#/components/schemas/ErrorResponse"}, error, "error")
