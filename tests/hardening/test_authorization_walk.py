"""A learner can never read another person's data: every route of the app, called as learner A
with learner B's ids, without a token, and with expired, tampered and forged tokens.

The table ``ROUTES`` (tests/support/routes.py) classifies every rule of ``app.url_map`` by who
may use it; a route the table does not know fails :func:`test_every_route_is_classified`, so a
new page or endpoint cannot skip the walk. The rules it documents (README "Exports", "Grades and
rosters", "JSON API"; plugin/web/competency_map.py, heatmap.py, course.py, exports.py):

- public: the tool's description, the framework, health, public keys, static files;
- LTI protocol: login, launch and dynamic registration read only what a platform sends;
- learner-own: a launch sees its own person's records only (``?person=`` of anyone else 403);
- designer: course designers and administrators (learners 403); a designer reads the
  learners of their own platform registration — maps, attainment exports, the course heat map;
- administrator: the organisation view and statement delivery, of their own organisation;
- API scope: a bearer token with the scope; a launch token only on ``/api/v1/me/attainment``.

Designers and administrators of one organisation read and change nothing of another's: that
walk, over the same table, is tests/hardening/test_organisation_walk.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from sqlalchemy import update
from werkzeug.test import TestResponse

from plugin.core.db import utcnow
from plugin.lti.models import Launch
from plugin.lti.tokens import issue_launch_token, read_launch_token
from plugin.organisations.tokens import SCOPES, create_token
from tests.support.app import TEST_SECRET
from tests.support.authz import (
    ADMIN,
    B_LEARNER_ID,
    DESIGNER,
    LEARNER_A,
    LEARNER_B,
    MODULE,
    OTHER_ADMIN,
    OTHER_DESIGNER,
    Persona,
    World,
    answer_text,
    check_answers,
    found_in,
    launch,
    without_echo,
)
from tests.support.flows import TOOL, Flow, register
from tests.support.platform import running_platform
from tests.support.routes import (
    ME,
    OWN,
    OWN_ORDER,
    OWN_STATUSES,
    PROTOCOL,
    PUBLIC,
    REFUSED,
    ROUTES,
    RUNTIME,
    RUNTIME_REFUSED,
    api,
    api_routes,
    call,
    get_as,
    is_api,
    path_for,
    url_map_routes,
)


def naming_b(world: World) -> dict[str, str]:
    """Query parameters a page might read a person from, all naming B."""
    learner, sub = str(world.b.learner_id), world.b.sub
    return {
        "person": learner,
        "person_id": learner,
        "learner": learner,
        "id": learner,
        "sub": sub,
        "user": sub,
        "user_id": sub,
        "issuer": world.issuer,
        "registration": world.b.registrations[0],
    }


def own_form(world: World, rule: str, token: str) -> dict[str, Any]:
    """The form A's own page would post to a learner-own POST route."""
    if rule == "/lti/module/progress":
        return {"lt": token, "percent": "60"}
    if rule == "/lti/module/check":
        return check_answers(world.app, token, correct_items=3)
    return {"lt": token}


def assert_nothing_of_b(response: TestResponse, world: World, what: str) -> None:
    """No value identifying B or B's records is in the answer (its echo of the query aside)."""
    leaked = found_in(without_echo(answer_text(response)), world.b_values())
    assert not leaked, f"{what} answered {response.status_code} with B's {leaked}"


def expired_token(launch_id: str) -> str:
    """A correctly signed launch token issued three hours ago (they live two hours)."""
    issued = int(time.time()) - 3 * 3600
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=issued):
        token = issue_launch_token(TEST_SECRET, launch_id)
    # Only its age is wrong: a longer lifetime would accept it.
    assert read_launch_token(TEST_SECRET, token, max_age_seconds=4 * 3600) == launch_id
    return token


def tampered(token: str) -> str:
    """``token`` with its signature changed."""
    return token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")


def test_every_route_is_classified(app: Flask) -> None:
    found = url_map_routes(app)
    unclassified = sorted(found - set(ROUTES))
    assert not unclassified, f"routes the authorization walk does not classify: {unclassified}"
    gone = sorted(set(ROUTES) - found)
    assert not gone, f"classified routes the app no longer has: {gone}"
    assert set(OWN_STATUSES) == {route for route, kind in ROUTES.items() if kind in (OWN, ME)}


def test_learner_a_reads_nothing_of_b_on_any_route(world: World) -> None:
    client = world.app.test_client()
    token = world.token(LEARNER_A)
    walked = 0
    for (rule, method), access in sorted(ROUTES.items()):
        if access in (OWN, ME):
            continue  # walked in order below: their POSTs change A's attempt
        path = path_for(rule, world.b.learner_id, MODULE)
        ways = [({}, {"lt": token, **naming_b(world)})]
        if is_api(access):
            ways.append(({"Authorization": f"Bearer lt.{token}"}, naming_b(world)))
        for headers, params in ways:
            response = call(client, method, path, params, headers)
            what = f"{method} {path} as A"
            if access == PUBLIC:
                assert response.status_code == 200, what
            elif access == PROTOCOL:
                assert response.status_code == 400, what
            elif is_api(access):
                assert response.status_code == 403, what  # a launch token reads no person
            elif access == RUNTIME:
                assert response.status_code in RUNTIME_REFUSED, (what, response.status_code)
            else:
                assert response.status_code in REFUSED, (what, response.status_code)
            assert_nothing_of_b(response, world, what)
            walked += 1
    for rule, method in OWN_ORDER:
        plain, named = OWN_STATUSES[(rule, method)]
        form = own_form(world, rule, token)
        response = call(client, method, rule, form, {})
        assert response.status_code == plain, (rule, response.get_data(as_text=True)[:2000])
        assert_nothing_of_b(response, world, f"{method} {rule} as A")
        response = call(client, method, rule, {**form, **naming_b(world)}, {})
        assert response.status_code == named, (rule, response.get_data(as_text=True)[:2000])
        assert_nothing_of_b(response, world, f"{method} {rule} as A naming B")
        walked += 2
    assert walked == len(ROUTES) + len(api_routes()) + len(OWN_STATUSES)


@pytest.mark.parametrize("credential", ["none", "expired", "tampered", "forged", "ended"])
def test_without_a_valid_launch_no_route_opens_and_none_shows_b(
    world: World, credential: str
) -> None:
    token = world.token(LEARNER_A)
    a_launch = world.a.launch_ids[0]
    tokens = {
        "none": "",
        "expired": expired_token(a_launch),
        "tampered": tampered(token),
        # B's launch named in a token signed with another key.
        "forged": issue_launch_token("another-secret-" + "y" * 40, world.b.launch_ids[0]),
        "ended": token,  # A's own token once the launch itself has expired (below)
    }
    if credential == "ended":
        end_launches(world.app)
    client = world.app.test_client()
    for (rule, method), access in sorted(ROUTES.items()):
        path = path_for(rule, world.b.learner_id, MODULE)
        params = {**naming_b(world), **({"lt": tokens[credential]} if tokens[credential] else {})}
        response = call(client, method, path, params, {})
        what = f"{method} {path} with a {credential} token"
        if access == PUBLIC:
            assert response.status_code == 200, what
        elif access == PROTOCOL:
            assert response.status_code == 400, what
        elif access == RUNTIME:
            assert response.status_code in RUNTIME_REFUSED, (what, response.status_code)
        else:
            assert response.status_code == 401, (what, response.status_code)
        assert_nothing_of_b(response, world, what)


def end_launches(app: Flask) -> None:
    """Every stored launch ends now (its ``expires_at`` passes)."""
    with app.extensions["plugin.db"].session_scope() as session:
        session.execute(update(Launch).values(expires_at=utcnow()))


# --- what A's own pages do show ---------------------------------------------------------------


def test_learner_own_pages_show_a_and_only_a(world: World) -> None:
    client = world.app.test_client()
    token = world.token(LEARNER_A)
    a_values = {"A's evidence source": world.a.evidence_sources[0]}
    for path in ("/lti/map",):
        text = answer_text(client.get(path, query_string={"lt": token}, base_url=TOOL))
        assert found_in(text, a_values), path
    for path in ("/exports/attainment.csv", "/exports/attainment.xlsx", "/exports/badges.json"):
        response = client.get(path, query_string={"lt": token}, base_url=TOOL)
        assert response.status_code == 200, path
        # The file is named for A's learner id, and a CSV/XLSX row starts with it.
        assert f"-{world.a.learner_id}." in response.headers["Content-Disposition"], path
        assert_nothing_of_b(response, world, path)
    own = client.get(
        "/api/v1/me/attainment", headers={"Authorization": f"Bearer lt.{token}"}, base_url=TOOL
    )
    assert own.status_code == 200
    assert own.get_json()["person"]["id"] == world.a.learner_id
    assert world.a.evidence_sources[0] in own.get_data(as_text=True)
    assert_nothing_of_b(own, world, "/api/v1/me/attainment")
    # The same endpoint with ?lt= answers the same person.
    query = client.get("/api/v1/me/attainment", query_string={"lt": token}, base_url=TOOL)
    assert query.get_json()["person"]["id"] == world.a.learner_id


def test_a_learner_naming_their_own_id_gets_their_own_map(world: World) -> None:
    client = world.app.test_client()
    mine = client.get(
        "/lti/map",
        query_string={"lt": world.token(LEARNER_A), "person": world.a.learner_id},
        base_url=TOOL,
    )
    assert mine.status_code == 200
    assert world.a.evidence_sources[0] in mine.get_data(as_text=True)


# --- the JSON API's scopes ------------------------------------------------------------------------


def test_api_tokens_read_only_what_their_scope_allows(world: World) -> None:
    client = world.app.test_client()
    with world.app.extensions["plugin.db"].session_scope() as session:
        tokens = {scope: create_token(session, scope, [scope])[1] for scope in SCOPES}
    checked = 0
    for (rule, _method), access in sorted(ROUTES.items()):
        if not access.startswith("api:"):
            continue  # the API endpoints, /me among them
        path = path_for(rule, world.b.learner_id, MODULE)
        for scope, token in tokens.items():
            response = client.get(path, headers={"Authorization": f"Bearer {token}"}, base_url=TOOL)
            if access == api(scope):
                assert response.status_code == 200, (path, scope, response.get_json())
            elif access == ME:
                # API tokens read people through /persons/{id}; /me is a launch's own.
                assert response.status_code == 403, (path, scope)
            else:
                assert response.status_code == 403, (path, scope, response.get_json())
                assert response.get_json()["error"]["code"] == "insufficient_scope"
                assert_nothing_of_b(response, world, f"{path} with {scope}")
            checked += 1
    assert checked == len(SCOPES) * (len(api_routes()) + 1)


@pytest.mark.parametrize("persona", [LEARNER_A, DESIGNER, ADMIN, OTHER_DESIGNER])
def test_no_launch_token_reads_a_person_through_the_api(world: World, persona: Persona) -> None:
    client = world.app.test_client()
    token = world.token(persona)
    for path in (
        f"/api/v1/persons/{B_LEARNER_ID}",
        f"/api/v1/persons/{B_LEARNER_ID}/attainment",
        f"/api/v1/persons/{B_LEARNER_ID}/evidence",
        "/api/v1/persons",
    ):
        query = {"sub": LEARNER_B.sub} if path.endswith("/persons") else {}
        for headers, params in (
            ({"Authorization": f"Bearer lt.{token}"}, query),
            ({}, {**query, "lt": token}),
        ):
            response = call(client, "GET", path, params, headers)
            assert response.status_code == 403, (path, response.get_json())
            assert_nothing_of_b(response, world, path)


# --- designers and administrators -------------------------------------------------------------


def shows_b(response: TestResponse, world: World) -> list[str]:
    """What of B the answer shows."""
    return found_in(without_echo(answer_text(response)), world.b_values())


def test_course_designers_read_their_own_platforms_learners(world: World) -> None:
    person = {"person": world.b.learner_id}
    for path, query in (
        ("/lti/map", person),
        ("/exports/attainment.csv", person),
        ("/exports/attainment.xlsx", person),
        ("/exports/badges.json", person),
        ("/lti/course/heatmap", {}),
        ("/exports/heatmap.csv", {}),
    ):
        response = get_as(world, DESIGNER, path, **query)
        assert response.status_code == 200, path
        assert shows_b(response, world), f"a designer sees B on {path}"
    for path in ("/lti/course", "/catalog/coverage", "/designer/modules"):
        assert get_as(world, DESIGNER, path).status_code == 200, path
    for path in ("/lti/organisation", "/exports/organisation.xlsx", "/xapi/status"):
        assert get_as(world, DESIGNER, path).status_code == 403, path


def test_administrators_read_the_whole_organisation(world: World) -> None:
    for path, query in (
        ("/lti/organisation", {"lang": "en"}),
        ("/exports/organisation-below_target.csv", {}),
        ("/lti/map", {"person": world.b.learner_id}),
    ):
        response = get_as(world, ADMIN, path, **query)
        assert response.status_code == 200, path
        assert shows_b(response, world), f"an administrator sees B on {path}"
    assert get_as(world, ADMIN, "/xapi/status").status_code == 200


def test_a_designer_of_another_platform_cannot_read_the_first_platforms_learners(
    world: World,
) -> None:
    person = {"person": world.b.learner_id}
    for path in (
        "/lti/map",
        "/exports/attainment.csv",
        "/exports/attainment.xlsx",
        "/exports/badges.json",
    ):
        response = get_as(world, OTHER_DESIGNER, path, **person)
        assert response.status_code == 404, (path, response.status_code)
        assert not shows_b(response, world), path
    for path in ("/lti/course/heatmap", "/exports/heatmap.csv", "/lti/course"):
        response = get_as(world, OTHER_DESIGNER, path)
        assert response.status_code == 200, path
        assert not shows_b(response, world), path


def test_the_first_platforms_designer_cannot_read_the_other_platforms_learners(
    world: World,
) -> None:
    other = {"person": world.other_learner_id}
    assert get_as(world, DESIGNER, "/lti/map", **other).status_code == 404
    assert get_as(world, DESIGNER, "/exports/attainment.csv", **other).status_code == 404
    # That platform's own designer reads them.
    assert get_as(world, OTHER_DESIGNER, "/lti/map", **other).status_code == 200


SCHOOL_TWO_DESIGNER = Persona(
    "walk-school-two-designer-4e07", "黃淑芬", "淑芬", "黃", "shufen@school-two.example.org",
    OTHER_DESIGNER.role,
)  # fmt: skip


def test_a_designer_of_another_registration_of_the_same_issuer_cannot_read_its_learners(
    world: World,
) -> None:
    # Canvas cloud: every school launches as one issuer, each with its own developer key
    # (client_id), i.e. its own registration here. The issuer does not make them one platform.
    with running_platform(
        key_slot=2, issuer=world.issuer, client_id="school-two", deployment_id="school-two-dep"
    ) as school_two:
        register(world.app, school_two)
        token = launch(Flow(world.app.test_client(), school_two), SCHOOL_TWO_DESIGNER, ags=False)
        client = world.app.test_client()
        for path in ("/lti/map", "/exports/attainment.csv", "/exports/badges.json"):
            response = call(client, "GET", path, {"lt": token, "person": world.b.learner_id}, {})
            assert response.status_code == 404, (path, response.status_code)
            assert not shows_b(response, world), path
        for path in ("/lti/course/heatmap", "/exports/heatmap.csv"):
            response = call(client, "GET", path, {"lt": token}, {})
            assert response.status_code == 200, path
            assert not shows_b(response, world), path


def test_administrators_of_any_platform_see_the_organisation_by_design(world: World) -> None:
    # The organisation view is the organisation's: an administrator who launched from any of
    # its registrations (here the other issuer's, in the same organisation) sees its people.
    response = get_as(world, OTHER_ADMIN, "/exports/organisation-below_target.csv")
    assert response.status_code == 200
    assert shows_b(response, world)
    assert get_as(world, OTHER_ADMIN, "/lti/map", person=world.b.learner_id).status_code == 200


def test_the_sandbox_routes_exist_only_in_a_development_app(
    make_app: Callable[..., Flask],
    app: Flask,
) -> None:
    # The sandbox LMS plays the platform, not the tool, and config refuses it in production
    # (tests/core/test_config.py): the walk's app has none of its routes, and every route a
    # sandbox adds lives under /sandbox.
    sandboxed = make_app(sandbox={"enabled": True})
    added = url_map_routes(sandboxed) - url_map_routes(app)
    assert added and all(rule.startswith("/sandbox") for rule, _method in added)
    assert not any(rule.startswith("/sandbox") for rule, _method in url_map_routes(app))
