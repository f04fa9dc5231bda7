"""Every route of the app classified by who may use it, as the authorization walks call it
(tests/hardening/test_authorization_walk.py and test_organisation_walk.py): the table, a rule's
path with ids filled in, and a call as the tool's own page makes it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.authz import Persona, World, browser_headers
from tests.support.flows import TOOL

PUBLIC = "public"
PROTOCOL = "lti-protocol"
OWN = "learner-own"
DESIGNERS = "designer"
ADMINS = "administrator"
# The SCORM player: a runtime token (path or header) naming one attempt, never a launch token;
# an invalid one opens nothing (404 on pages and files, 401 on commits).
RUNTIME = "scorm-runtime"
RUNTIME_REFUSED = {401, 404}


def api(scope: str) -> str:
    """The access class of an API endpoint that needs ``scope``."""
    return f"api:{scope}"


ME = "api:launch-token"  # /api/v1/me/attainment: the calling learner's own launch token

ROUTES: dict[tuple[str, str], str] = {
    ("/", "GET"): PUBLIC,
    ("/framework", "GET"): PUBLIC,
    ("/healthz", "GET"): PUBLIC,
    ("/.well-known/jwks.json", "GET"): PUBLIC,
    ("/static/<path:filename>", "GET"): PUBLIC,
    ("/vendor/<package>/<name>", "GET"): PUBLIC,
    ("/lti/config", "GET"): PUBLIC,
    ("/exports/case.json", "GET"): PUBLIC,
    ("/api/v1/openapi.json", "GET"): PUBLIC,
    ("/lti/login", "GET"): PROTOCOL,
    ("/lti/login", "POST"): PROTOCOL,
    ("/lti/launch", "POST"): PROTOCOL,
    ("/lti/register", "GET"): PROTOCOL,
    ("/lti/home", "GET"): OWN,
    ("/lti/map", "GET"): OWN,
    ("/lti/module", "GET"): OWN,
    ("/lti/module/progress", "POST"): OWN,
    ("/lti/module/retry", "POST"): OWN,
    ("/lti/module/check", "POST"): OWN,
    ("/lti/module/complete", "POST"): OWN,
    ("/lti/unbound", "GET"): OWN,
    ("/exports/attainment.csv", "GET"): OWN,
    ("/exports/attainment.xlsx", "GET"): OWN,
    ("/exports/badges.json", "GET"): OWN,
    ("/exports/my-data.json", "GET"): OWN,
    ("/api/v1/me/attainment", "GET"): ME,
    ("/catalog/coverage", "GET"): DESIGNERS,
    ("/catalog/coverage.csv", "GET"): DESIGNERS,
    ("/catalog/outside-courses", "POST"): DESIGNERS,
    ("/catalog/outside-courses/template.csv", "GET"): DESIGNERS,
    ("/designer/modules", "GET"): DESIGNERS,
    ("/designer/modules/new", "GET"): DESIGNERS,
    ("/designer/modules/new", "POST"): DESIGNERS,
    ("/designer/modules/<key>/edit", "GET"): DESIGNERS,
    ("/designer/modules/<key>/edit", "POST"): DESIGNERS,
    ("/designer/modules/<key>/tags", "GET"): DESIGNERS,
    ("/designer/modules/<key>/tags", "POST"): DESIGNERS,
    ("/designer/modules/<key>/copy", "POST"): DESIGNERS,
    ("/designer/modules/<key>/package", "GET"): DESIGNERS,
    ("/designer/modules/<key>/package", "POST"): DESIGNERS,
    ("/designer/modules/<key>/package/<int:number>/original.zip", "GET"): DESIGNERS,
    ("/designer/packages/new", "GET"): DESIGNERS,
    ("/designer/packages/new", "POST"): DESIGNERS,
    ("/content/<module_key>/<version_dir>/<path:file_path>", "GET"): DESIGNERS,
    ("/scorm/<token>/play", "GET"): RUNTIME,
    ("/scorm/<token>/files/<path:file_path>", "GET"): RUNTIME,
    ("/scorm/<token>/navigate", "GET"): RUNTIME,
    ("/scorm/commit", "POST"): RUNTIME,
    ("/designer/tags/bulk", "GET"): DESIGNERS,
    ("/designer/tags/bulk", "POST"): DESIGNERS,
    ("/lti/deep-link", "GET"): DESIGNERS,
    ("/lti/deep-link", "POST"): DESIGNERS,
    ("/lti/bind", "POST"): DESIGNERS,
    ("/lti/course", "GET"): DESIGNERS,
    ("/lti/course/heatmap", "GET"): DESIGNERS,
    ("/exports/coverage.xlsx", "GET"): DESIGNERS,
    ("/exports/heatmap.csv", "GET"): DESIGNERS,
    ("/exports/heatmap.xlsx", "GET"): DESIGNERS,
    ("/lti/organisation", "GET"): ADMINS,
    ("/exports/organisation-<table>.csv", "GET"): ADMINS,
    ("/exports/organisation.xlsx", "GET"): ADMINS,
    ("/xapi/status", "GET"): ADMINS,
    ("/lti/audit", "GET"): ADMINS,
    ("/lti/audit.csv", "GET"): ADMINS,
    ("/api/v1/frameworks", "GET"): api("read:frameworks"),
    ("/api/v1/frameworks/<key>", "GET"): api("read:frameworks"),
    ("/api/v1/modules", "GET"): api("read:modules"),
    ("/api/v1/modules/<key>", "GET"): api("read:modules"),
    ("/api/v1/coverage", "GET"): api("read:coverage"),
    ("/api/v1/persons", "GET"): api("read:persons"),
    ("/api/v1/persons/<int:person_id>", "GET"): api("read:persons"),
    ("/api/v1/persons/<int:person_id>/attainment", "GET"): api("read:attainment"),
    ("/api/v1/persons/<int:person_id>/evidence", "GET"): api("read:evidence"),
}

# What A's own launch token gets from each learner-own route: (plain, naming B). The POSTs
# run in this order on A's finished attempt: retry opens a new one, progress and check use it.
OWN_STATUSES: dict[tuple[str, str], tuple[int, int]] = {
    ("/lti/home", "GET"): (200, 200),
    ("/lti/map", "GET"): (200, 403),
    ("/lti/module", "GET"): (200, 200),
    ("/lti/unbound", "GET"): (200, 200),
    ("/exports/attainment.csv", "GET"): (200, 403),
    ("/exports/attainment.xlsx", "GET"): (200, 403),
    ("/exports/badges.json", "GET"): (200, 403),
    ("/exports/my-data.json", "GET"): (200, 403),
    ("/api/v1/me/attainment", "GET"): (200, 400),  # 400: the API names an unknown parameter
    ("/lti/module/retry", "POST"): (303, 303),
    ("/lti/module/progress", "POST"): (204, 204),
    ("/lti/module/check", "POST"): (200, 409),  # the check closes the attempt it scores
    ("/lti/module/complete", "POST"): (400, 400),  # the module has a check to answer
}
OWN_ORDER = list(OWN_STATUSES)
REFUSED = {403, 404}  # a launch token of the wrong role (404: not a deep-linking launch)
IMPLIED_METHODS = {"HEAD", "OPTIONS"}  # Flask answers these for every GET rule itself
FRAMEWORK_KEY = "tw-civil-service-dc"


def is_api(access: str) -> bool:
    """True for an endpoint that needs an API token's scope."""
    return access.startswith("api:") and access != ME


def api_routes() -> list[tuple[str, str]]:
    """The routes that need an API token's scope."""
    return [route for route, access in ROUTES.items() if is_api(access)]


def url_map_routes(app: Flask) -> set[tuple[str, str]]:
    """Every (rule, method) the app answers, HEAD and OPTIONS aside."""
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - IMPLIED_METHODS
    }


def path_for(rule: str, learner_id: int, module: str) -> str:
    """``rule`` with ``learner_id`` and ``module`` (or the catalog's keys) in its placeholders."""
    values = {
        "person_id": str(learner_id),
        "table": "below_target",
        "filename": "css/plugin.css",
        "package": "axe-core",
        "name": "axe.min.js",
        "key": FRAMEWORK_KEY if rule.startswith("/api/v1/frameworks/") else module,
        "module_key": module,
        "version_dir": "v1-0123456789abcdef",
        "file_path": "index.html",
        "number": "1",
        "token": "not-a-runtime-token",  # the player's routes take one in the path
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule)


def call(
    client: FlaskClient, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
) -> TestResponse:
    """GET with ``params`` in the query, or POST them as a form the tool's page sent; the
    answer is read whole and closed (a static file would otherwise stay open)."""
    if method == "GET":
        response = client.get(path, query_string=params, headers=headers, base_url=TOOL)
    else:
        headers = {**browser_headers(), **headers}
        response = client.post(path, data=params, headers=headers, base_url=TOOL)
    response.get_data()
    response.close()
    return response


def get_as(world: World, persona: Persona, path: str, **query: Any) -> TestResponse:
    """GET ``path`` with ``persona``'s launch token."""
    client = world.app.test_client()
    return call(client, "GET", path, {"lt": world.token(persona), **query}, {})
