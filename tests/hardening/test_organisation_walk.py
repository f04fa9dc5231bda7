"""Agencies as tenants: the designers, administrators and API tokens of one organisation read
and change nothing of another's, through any page, export or API endpoint.

The world is the authorization walk's (conftest.py, tests/support/authz.py and tenants.py): the
default organisation (learners A and B, its designer and administrator, its own copy of a
demo module) and "east" (learner E, its designer and administrator, a module of its own) on
two registrations of one issuer. Every route of the walk's table is called as each
organisation's designer and administrator, naming the other organisation's learner and module
every way it can: no answer carries the other's people (ids, names, subs, records) or
modules, and nothing of the other's changes. The national catalog is read and placed by
both, changed by neither.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from flask import Flask
from openpyxl import load_workbook
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.competencies.models import Module, Placement
from plugin.lti.claims import CLAIM_NRPS
from plugin.lti.service_tokens import EXTENSION
from plugin.organisations.services import default_organisation, get_organisation
from plugin.organisations.tokens import SCOPES, create_token
from tests.support.authz import (
    ADMIN,
    B_LEARNER_ID,
    DESIGNER,
    LEARNER_A,
    LEARNER_B,
    MEMBERSHIP,
    MODULE,
    Persona,
    World,
    all_values,
    answer_text,
    found_in,
    identity_values,
    launch,
    without_echo,
)
from tests.support.flows import TOOL, Flow, register
from tests.support.platform import running_platform
from tests.support.routes import ROUTES, api_routes, call, get_as, is_api, path_for
from tests.support.tenants import (
    E_LEARNER_ID,
    EAST,
    EAST_ADMIN,
    EAST_DESIGNER,
    EAST_LEARNER,
    EAST_MODULE_TITLE,
    east_values,
    module_state,
)

HOME = (DESIGNER, ADMIN)
EASTERN = (EAST_DESIGNER, EAST_ADMIN)
EVERY_STAFF = [*HOME, *EASTERN]
SEARCH_BOX = re.compile(r'<input [^>]*name="q"[^>]*>')
NAMES_A_LEARNER = ("/lti/map", "/exports/attainment.csv", "/exports/attainment.xlsx")


def other_side(world: World, persona: Persona) -> tuple[int, str, str, dict[str, str]]:
    """(learner id, sub, module key, identifying values) of the organisation ``persona`` is
    not in."""
    if persona in HOME:
        return E_LEARNER_ID, EAST_LEARNER.sub, world.east_module, east_values(world)
    return B_LEARNER_ID, LEARNER_B.sub, world.home_module, world.home_values()


def naming(world: World, learner_id: int, sub: str, module: str) -> dict[str, str]:
    """Query parameters and form fields a page might read a person or a module from."""
    learner = str(learner_id)
    return {
        "person": learner, "person_id": learner, "learner": learner, "id": learner,
        "sub": sub, "user": sub, "user_id": sub, "issuer": world.issuer,
        "module": module, "selected": module, "key": module,
    }  # fmt: skip


def module_count(app: Flask) -> int:
    """How many modules exist, in every organisation."""
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalar(select(func.count()).select_from(Module)) or 0


def expected_refusal(rule: str, method: str) -> int | None:
    """The status a route must answer when named the other organisation's learner or module
    (None: whatever it answers, it must show nothing of theirs)."""
    if rule.startswith("/designer/modules/<key>") or rule == "/lti/bind":
        return 404  # another organisation's module is "no such module", never 403
    if rule in NAMES_A_LEARNER or rule == "/exports/badges.json":
        return 404  # another organisation's learner is "no such learner"
    if rule == "/designer/tags/bulk" and method == "POST":
        return 400  # "unknown module", as for a key that does not exist
    return None


@pytest.mark.parametrize("persona", EVERY_STAFF, ids=lambda p: p.sub)
def test_staff_of_one_organisation_read_and_change_nothing_of_another_on_any_route(
    world: World, persona: Persona
) -> None:
    learner_id, sub, module, values = other_side(world, persona)
    # The module key is the caller's own input here: "no such module: <key>" may echo it.
    values = {label: value for label, value in values.items() if value != module}
    before = (module_state(world.app, module), module_count(world.app))
    client = world.app.test_client()
    token = world.token(persona)
    walked = 0
    for (rule, method), _access in sorted(ROUTES.items()):
        path = path_for(rule, learner_id, module)
        params = {"lt": token, **naming(world, learner_id, sub, module)}
        response = call(client, method, path, params, {})
        what = f"{method} {path} as {persona.sub}"
        expected = expected_refusal(rule, method)
        if expected is not None:
            assert response.status_code == expected, (what, response.status_code)
        if is_api(_access):
            assert response.status_code == 403, what  # a launch token reads no person
        leaked = found_in(without_echo(answer_text(response)), values)
        assert not leaked, f"{what} answered {response.status_code} with {leaked}"
        walked += 1
    assert walked == len(ROUTES)
    assert (module_state(world.app, module), module_count(world.app)) == before


@pytest.mark.parametrize("persona", EVERY_STAFF, ids=lambda p: p.sub)
def test_each_organisation_lists_its_own_modules_and_the_national_catalog_only(
    world: World, persona: Persona
) -> None:
    _learner, _sub, other_module, _values = other_side(world, persona)
    own = world.east_module if persona in EASTERN else world.home_module
    hidden = {"the other organisation's module": other_module}
    if persona in HOME:
        hidden["its title"] = EAST_MODULE_TITLE
    for path, query in (
        ("/designer/modules", {"q": other_module}),
        ("/designer/modules", {}),
        ("/designer/tags/bulk", {"q": other_module}),
        ("/lti/unbound", {"q": other_module}),
        ("/catalog/coverage", {}),
        ("/catalog/coverage.csv", {}),
        ("/exports/coverage.xlsx", {}),
    ):
        response = get_as(world, persona, path, **query)
        assert response.status_code == 200, path
        text = SEARCH_BOX.sub("", without_echo(answer_text(response)))  # echoes of ?q=
        assert not found_in(text, hidden), (path, query)
    for key in (own, MODULE):
        listed = get_as(world, persona, "/designer/modules", q=key).get_data(as_text=True)
        assert f'<span class="code">{key}</span>' in listed, key
    coverage = get_as(world, persona, "/catalog/coverage.csv").get_data(as_text=True)
    assert own in coverage and MODULE in coverage  # both count towards the organisation's


@pytest.mark.parametrize("persona", EVERY_STAFF, ids=lambda p: p.sub)
def test_no_launch_changes_the_national_catalog(world: World, persona: Persona) -> None:
    before = module_state(world.app, MODULE)
    client = world.app.test_client()
    token = world.token(persona)
    for method, path, data in (
        ("GET", f"/designer/modules/{MODULE}/edit", {}),
        ("POST", f"/designer/modules/{MODULE}/edit", {"title_zh": "改寫", "title_en": "X"}),
        ("GET", f"/designer/modules/{MODULE}/tags", {}),
        ("POST", f"/designer/modules/{MODULE}/tags", {"add_item": "DC1-K1", "add_level": "1"}),
        ("POST", "/designer/tags/bulk", {"module": MODULE, "item": "DC1-K1", "level": "1"}),
    ):
        response = call(client, method, path, {"lt": token, **data}, {})
        page = response.get_data(as_text=True)
        assert response.status_code == 403, (method, path, response.status_code)
        assert "<code>module_read_only</code>" in page
        assert "全國單元目錄的單元無法在此修改" in page  # the launch's language (zh-TW)
    assert module_state(world.app, MODULE) == before


def test_each_organisations_administrators_see_their_own_people_only(world: World) -> None:
    assert world.e is not None
    e_values = all_values(
        identity_values(EAST_LEARNER, world.e.person_id, world.e.learner_id), world.e.hidden()
    )
    for admin, own, other in (
        (ADMIN, world.b_values(), east_values(world)),
        (EAST_ADMIN, e_values, world.home_values()),
    ):
        for path in (
            "/lti/organisation",
            "/exports/organisation-below_target.csv",
            "/exports/organisation.xlsx",
            "/xapi/status",
        ):
            response = get_as(world, admin, path)
            assert response.status_code == 200, path
            text = without_echo(answer_text(response))
            assert found_in(text, own), f"{admin.sub} sees their own people on {path}"
            assert not found_in(text, other), (admin.sub, path, found_in(text, other))
    assert get_as(world, ADMIN, "/lti/map", person=E_LEARNER_ID).status_code == 404
    assert get_as(world, EAST_ADMIN, "/lti/map", person=B_LEARNER_ID).status_code == 404
    assert get_as(world, EAST_ADMIN, "/lti/map", person=E_LEARNER_ID).status_code == 200


def test_an_organisations_api_token_reads_nothing_of_another_organisation(world: World) -> None:
    with world.app.extensions["plugin.db"].session_scope() as session:
        home = create_token(session, "home", SCOPES, organisation=default_organisation(session))
        east = create_token(session, "east", SCOPES, organisation=get_organisation(session, EAST))
        operator = create_token(session, "operator", SCOPES)
    client = world.app.test_client()

    def get(token: str, path: str, **query: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {token}"}
        return client.get(path, headers=headers, query_string=query, base_url=TOOL)

    for token, persona in ((home[1], DESIGNER), (east[1], EAST_DESIGNER)):
        learner_id, sub, module, values = other_side(world, persona)
        # "no person 70423", "no module '<key>'" echo the caller's own input; the lists, which
        # name nobody, must not have them.
        echoed = (module, str(learner_id))
        named_key = {label: value for label, value in values.items() if value not in echoed}
        for rule, _method in api_routes():
            path = path_for(rule, learner_id, module)
            listing = rule in ("/api/v1/persons", "/api/v1/modules")
            response = get(token, path, **({"per_page": 100} if listing else {}))
            named = "<int:person_id>" in rule or rule == "/api/v1/modules/<key>"
            assert response.status_code == (404 if named else 200), (path, response.get_json())
            checked = named_key if named else values
            leaked = found_in(answer_text(response), checked)
            assert not leaked, (persona.sub, path, leaked)
        found = get(token, "/api/v1/persons", issuer=world.issuer, sub=sub).get_json()
        assert found["total"] == 0 and found["items"] == []
    # Each reads its own people, and the operator's token reads both organisations.
    assert get(home[1], f"/api/v1/persons/{B_LEARNER_ID}").status_code == 200
    assert get(east[1], f"/api/v1/persons/{E_LEARNER_ID}/attainment").status_code == 200
    everyone = get(operator[1], "/api/v1/persons", per_page=100).get_json()
    assert {B_LEARNER_ID, E_LEARNER_ID} <= {person["id"] for person in everyone["items"]}
    assert get(operator[1], f"/api/v1/modules/{world.east_module}").status_code == 200


# --- placements ---------------------------------------------------------------------------------


def test_a_link_cannot_be_placed_on_another_organisations_module_but_old_placements_work(
    world: World,
) -> None:
    east_flow = world.east_flow
    assert east_flow is not None
    # Deep linking puts module_key on the link; a forged one naming the default
    # organisation's module leaves the east link unbound: learners are told it is not ready.
    token = launch(east_flow, EAST_LEARNER, ags=False, link="east-forged", module=world.home_module)
    page = east_flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)
    assert page.status_code == 303 and "/lti/unbound" in page.headers["Location"]
    with world.app.extensions["plugin.db"].session_scope() as session:
        links = select(Placement.resource_link_id).where(
            Placement.resource_link_id == "east-forged"
        )
        assert session.scalars(links).all() == []
        # A placement made before modules had owners keeps working for its learners.
        home_module = session.scalars(select(Module).where(Module.key == world.home_module)).one()
        session.add(
            Placement(
                issuer=world.issuer, deployment_id="e-dep", resource_link_id="east-old",
                context_id="", module_id=home_module.id,
            )
        )  # fmt: skip
    token = launch(east_flow, EAST_LEARNER, ags=False, link="east-old", module=world.home_module)
    old = east_flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)
    assert old.status_code == 200


# --- finding 2: a roster (NRPS) never widens whose levels a launch reads --------------------------

MEMBERSHIPS = "/nrps/context-1/memberships"


class PlatformServices(BaseAdapter):
    """The platform's token endpoint and an NRPS membership container listing ``members``."""

    def __init__(self, members: list[Persona]):
        super().__init__()
        self.members = members

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Answer the token request or the membership list."""
        response = requests.Response()
        # A body already read, as the tool's streamed reads expect (iter_content serves it).
        response._content, response._content_consumed = b"", True
        response.status_code = 200
        response.url = request.url or ""
        response.request = request
        if (request.url or "").endswith("/token"):
            body: dict[str, Any] = {
                "access_token": "t-1",
                "token_type": "Bearer",
                "expires_in": 3600,
            }
            kind = "application/json"
        else:
            body = {
                "id": request.url,
                "context": {"id": "context-1", "title": "數位安全"},
                "members": [
                    {"user_id": p.sub, "name": p.name, "roles": [MEMBERSHIP + "Learner"]}
                    for p in self.members
                ],
            }
            kind = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        response._content = json.dumps(body).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": kind})
        return response

    def close(self) -> None:
        """Nothing to release."""


@contextmanager
def roster_listing(world: World, members: list[Persona]) -> Iterator[dict[str, Any]]:
    """The issuer's platform answers NRPS with ``members``; the claim a launch offers it by."""
    world.app.extensions[EXTENSION].http.mount(world.issuer + "/", PlatformServices(members))
    yield {CLAIM_NRPS: {"context_memberships_url": world.issuer + MEMBERSHIPS,
                        "service_versions": ["2.0"]}}  # fmt: skip


def heat_rows(world: World, token: str) -> dict[str, tuple[str, list[str]]]:
    """The heat map's CSV and XLSX rows by sub: (person id, levels); both must agree."""
    client = world.app.test_client()
    csv_answer = call(client, "GET", "/exports/heatmap.csv", {"lt": token}, {})
    rows = list(csv.reader(io.StringIO(csv_answer.get_data(as_text=True).lstrip("\ufeff"))))
    by_sub = {row[2]: (row[0], row[3:]) for row in rows[1:]}
    xlsx = call(client, "GET", "/exports/heatmap.xlsx", {"lt": token}, {})
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    cells = [
        ["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert {row[2]: (row[0], row[3:]) for row in cells[1:]} == by_sub
    return by_sub


def page_row(world: World, token: str, persona: Persona) -> str:
    """The heat map page's row of ``persona`` (by the name the roster gives)."""
    page = get_as_token(world, "/lti/course/heatmap", token).get_data(as_text=True)
    rows = [row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if persona.name in row]
    assert len(rows) == 1, page
    return rows[0]


def get_as_token(world: World, path: str, token: str) -> TestResponse:
    """GET ``path`` with a launch token."""
    return call(world.app.test_client(), "GET", path, {"lt": token}, {})


SCHOOL_TWO_DESIGNER = Persona(
    "walk-school-two-designer-81c3", "黃淑芬", "淑芬", "黃", "shufen@school-two.example.org",
    MEMBERSHIP + "Instructor",
)  # fmt: skip


def test_a_roster_listing_another_registrations_learners_shows_none_of_their_levels(
    world: World,
    flow: Flow,  # the walk's first platform
) -> None:
    # Registration 1's designer, for comparison: A passed, so A's row has levels and an id.
    with roster_listing(world, [LEARNER_A, LEARNER_B]) as nrps:
        own = launch(flow, DESIGNER, **nrps)
        mine = heat_rows(world, own)
        assert mine[LEARNER_A.sub][0] and any(level != "0" for level in mine[LEARNER_A.sub][1])
        assert mine[LEARNER_B.sub][0] == str(B_LEARNER_ID)
        assert "/lti/map?person=" in page_row(world, own, LEARNER_A)
        # The attack: a second registration of the same issuer (the Canvas cloud case), in
        # the same organisation and in another, whose platform lists registration 1's learners.
        with running_platform(
            key_slot=2, issuer=world.issuer, client_id="school-two", deployment_id="two-dep"
        ) as school_two:
            register(world.app, school_two)
            two = Flow(world.app.test_client(), school_two)
            east = world.east_flow
            assert east is not None
            attackers = {
                "same organisation, other registration": launch(
                    two, SCHOOL_TWO_DESIGNER, ags=False, **nrps
                ),
                "east designer": launch(east, EAST_DESIGNER, ags=False, **nrps),
                "east administrator": launch(east, EAST_ADMIN, ags=False, **nrps),
            }
            for who, token in attackers.items():
                rows = heat_rows(world, token)
                for persona in (LEARNER_A, LEARNER_B):
                    person, levels = rows[persona.sub]  # listed: the platform said so
                    assert person == "" and set(levels) == {"0"}, (who, persona.sub, rows)
                    row = page_row(world, token, persona)
                    assert "/lti/map?person=" not in row and not re.search(r"heat--[1-9]", row)
                page = get_as_token(world, "/lti/course/heatmap", token)
                assert str(B_LEARNER_ID) not in page.get_data(as_text=True), who
                assert not found_in(answer_text(page), world.b.hidden()), who
