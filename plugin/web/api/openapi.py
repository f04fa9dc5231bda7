"""The OpenAPI 3.1 document of the JSON API, built with apispec from the declared endpoints."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, current_app

from plugin.core.version import tool_version
from plugin.organisations.tokens import SCOPES
from plugin.web.api import schemas
from plugin.web.api.declare import ENDPOINTS, PREFIX, Endpoint, blueprint, json_response

OPENAPI_VERSION = "3.1.0"
CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
PATH_TYPES = {"int": "integer", "float": "number"}
ERROR_STATUSES = {
    "400": "A query parameter is invalid (``field`` names it).",
    "401": "No credentials, or invalid ones (``WWW-Authenticate: Bearer``).",
    "403": "The credentials lack the scope (``field`` is ``scope``).",
    "404": "Nothing with this key or id.",
}
BEARER_DESCRIPTION = (
    "An API token (`dct.<prefix>.<secret>`) created by `flask --app plugin token create "
    "--name NAME --scope SCOPE…`, sent as `Authorization: Bearer <token>`. Scopes: "
    + ", ".join(f"`{scope}`" for scope in SCOPES)
    + "."
)
LAUNCH_DESCRIPTION = (
    "A learner's LTI launch token (the tool's `lt`), as the `lt` query parameter or as "
    "`Authorization: Bearer lt.<launch token>`. It reads only the learner's own attainment "
    "(`/me/attainment`); every other endpoint refuses it with 403."
)


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a Flask rule and its path parameters."""
    parameters = [
        {
            "in": "path",
            "name": match["name"],
            "required": True,
            "schema": {"type": PATH_TYPES.get(match["converter"] or "", "string")},
        }
        for match in CONVERTER.finditer(rule)
    ]
    return CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    _path, parameters = openapi_path(endpoint.rule)
    if endpoint.query is not None:
        parameters.append({"in": "query", "schema": endpoint.query})
    responses: dict[str, Any] = {
        "200": {
            "description": endpoint.summary,
            "content": {"application/json": {"schema": endpoint.response}},
        }
    }
    for status in ERROR_STATUSES:
        if status == "400" and endpoint.query is None:
            continue
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.scope is None:
        operation["security"] = []
    elif endpoint.launch:
        operation["security"] = [{"launchToken": []}]
    else:
        operation["security"] = [{"bearerToken": [endpoint.scope]}]
        operation["x-required-scope"] = endpoint.scope
    return operation


def build_spec(version: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared endpoint."""
    spec = APISpec(
        title="數位職能學習工具 Digital Competency Tool API",
        version=version or tool_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Read-only JSON API: competency frameworks, the module catalog, catalog "
                "coverage, persons, attainment and evidence. Collections take `page` and "
                "`per_page` (at most 100) and answer with `total` and `links`. Errors are "
                '`{"error": {"code", "message", "field"}}`.'
            )
        },
        servers=[{"url": "/"}],
    )
    spec.components.schema("ErrorResponse", schema=schemas.ErrorResponse)
    for status, description in ERROR_STATUSES.items():
        spec.components.response(
            f"Error{status}",
            {
                "description": description,
                "content": {"application/json": {"schema": "ErrorResponse"}},
            },
        )
    spec.components.security_scheme(
        "bearerToken", {"type": "http", "scheme": "bearer", "description": BEARER_DESCRIPTION}
    )
    spec.components.security_scheme(
        "launchToken",
        {"type": "apiKey", "in": "query", "name": "lt", "description": LAUNCH_DESCRIPTION},
    )
    for endpoint in sorted(ENDPOINTS, key=lambda e: e.rule):
        path, _parameters = openapi_path(endpoint.rule)
        spec.path(path=PREFIX + path, operations={"get": _operation(endpoint)})
    spec.path(
        path=PREFIX + "/openapi.json",
        operations={
            "get": {
                "operationId": "get_openapi",
                "summary": "This OpenAPI document (no credentials needed).",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    )
    return spec.to_dict()


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document (public: it describes, it reveals no data)."""
    cache = current_app.extensions.setdefault("plugin.api.openapi", {})
    if "document" not in cache:
        cache["document"] = build_spec()
    return json_response(cache["document"])
