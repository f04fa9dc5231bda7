"""The walk's second organisation ("east"): a registration of the first platform's issuer
under another client_id (the Canvas cloud case), its designer, administrator and learner E,
and a module of east's own catalog that E passed. One outbox statement of B and one of E are
quarantined, so that the delivery page has something of each organisation to hide.

E's person and learner rows get ids no page shows for anything else, like B's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from plugin.competencies.models import Module, ModuleTag
from plugin.lti.registrations import PlatformDetails, register_platform
from plugin.organisations.services import create_organisation
from plugin.xapi.models import QUARANTINED, OutboxStatement
from tests.support.authz import (
    DESIGNER,
    MODULE,
    Footprint,
    World,
    administrator,
    all_values,
    browser_headers,
    designer,
    footprint,
    identity_values,
    launch,
    learner,
    reserve_ids,
    take_a_check,
)
from tests.support.flows import TOOL, Flow
from tests.support.platform import TestPlatform

E_PERSON_ID = 61837
E_LEARNER_ID = 70423
EAST = "east"
EAST_CLIENT = "east-client"
EAST_LINK = "east-link-1"
EAST_MODULE_TITLE = "東區機關自製單元 east-own-module-5d3f"

EAST_LEARNER = learner("walk-east-learner-6a91", "鄭美玲", "meiling@east.example.gov.tw", "薦任")
EAST_DESIGNER = designer("walk-east-designer-3c58", "許文彥", "wenyen@east.example.gov.tw")
EAST_ADMIN = administrator("walk-east-admin-94b2", "蔡佩珊", "peishan@east.example.gov.tw")


def east_values(world: World) -> dict[str, str]:
    """Everything that identifies E, E's records or the east organisation's module."""
    assert world.e is not None
    return all_values(
        identity_values(EAST_LEARNER, world.e.person_id, world.e.learner_id),
        {f"E's {label}": value for label, value in world.e.hidden().items()},
        {"E's launch token": world.token(EAST_LEARNER)},
        {"east module key": world.east_module, "east module title": EAST_MODULE_TITLE},
    )


def register_in(app: Flask, platform: TestPlatform, organisation_key: str) -> None:
    """Register ``platform`` (its deployment active) in a new organisation, as the operator's
    ``organisation add`` and ``platform add --organisation`` do."""
    with app.extensions["plugin.db"].session_scope() as session:
        organisation = create_organisation(session, organisation_key, f"{organisation_key} 機關")
        register_platform(
            session,
            PlatformDetails(
                issuer=platform.issuer,
                client_id=platform.client_id,
                auth_login_url=platform.auth_login_url,
                auth_token_url=platform.auth_token_url,
                key_set_url=platform.jwks_url,
                name=f"{organisation_key} LMS",
            ),
            (platform.deployment_id,),
            organisation=organisation,
        )


def create_east_module(flow: Flow, token: str) -> str:
    """East's designer makes a module of east's own catalog (three questions, one tag)."""
    form: dict[str, Any] = {
        "lt": token, "title_zh": EAST_MODULE_TITLE, "title_en": "East's own module",
        "hours": "1", "content_markdown_zh": "# 東區", "content_markdown_en": "# East",
        "external_display": "window", "mastery_score": "0.8", "item_count": "3",
        "action": "save",
    }  # fmt: skip
    for item in range(3):
        form[f"item-{item}-prompt_zh"] = f"第 {item + 1} 題"
        form[f"item-{item}-prompt_en"] = f"Question {item + 1}"
        form[f"item-{item}-choice_count"] = "2"
        for choice, right in ((0, True), (1, False)):
            form[f"item-{item}-choice-{choice}-text_zh"] = "對" if right else "錯"
            form[f"item-{item}-choice-{choice}-text_en"] = "right" if right else "wrong"
            if right:
                form[f"item-{item}-choice-{choice}-correct"] = "1"
    client = flow.client
    made = client.post("/designer/modules/new", data=form, base_url=TOOL, headers=browser_headers())
    assert made.status_code == 303, made.get_data(as_text=True)
    key = urlsplit(made.headers["Location"]).path.split("/")[3]
    tagged = client.post(
        f"/designer/modules/{key}/tags", data={"lt": token, "add_item": "DC4-K1", "add_level": "2"},
        base_url=TOOL, headers=browser_headers(),
    )  # fmt: skip
    assert tagged.status_code == 303, tagged.get_data(as_text=True)
    return key


def quarantine_one(app: Flask, footprint: Footprint) -> None:
    """One of the learner's outbox statements is refused by the LRS (listed on the page)."""
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.scalars(
            select(OutboxStatement).where(OutboxStatement.statement_id.in_(footprint.statement_ids))
        ).first()
        assert row is not None
        row.status, row.last_error = QUARANTINED, "HTTP 400: refused"


def module_state(app: Flask, key: str) -> tuple[Any, ...]:
    """A module's stored texts, check and tags, to show nothing changed them."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == key)).one()
        tags = session.scalars(select(ModuleTag).where(ModuleTag.module_id == module.id))
        return (
            module.organisation_id, module.title_zh, module.title_en, module.content_markdown_zh,
            module.hours, module.mastery_score, module.updated_at,
            [(item.prompt_zh, item.choices) for item in module.check_items],
            sorted((t.item_id, t.level, t.weight, t.retired_at is None) for t in tags),
        )  # fmt: skip


def copy_module(app: Flask, token: str, key: str) -> str:
    """Copy ``key`` into the organisation of the launch ``token``; the copy's key."""
    copied = app.test_client().post(
        f"/designer/modules/{key}/copy", data={"lt": token}, base_url=TOOL,
        headers=browser_headers(),
    )  # fmt: skip
    assert copied.status_code == 303, copied.get_data(as_text=True)
    return urlsplit(copied.headers["Location"]).path.split("/")[3]


def build_east(world: World, east_flow: Flow) -> None:
    """The east organisation: its designer's module, E passing it, its administrator; and
    the default organisation's own copy of the demo module."""
    app = world.app
    world.east_flow = east_flow
    world.home_module = copy_module(app, world.token(DESIGNER), MODULE)
    reserve_ids(app, world.issuer, EAST_LEARNER, E_PERSON_ID, E_LEARNER_ID)
    designer = launch(east_flow, EAST_DESIGNER, ags=False)
    world.tokens[EAST_DESIGNER.sub] = designer
    world.east_module = create_east_module(east_flow, designer)
    learner = launch(east_flow, EAST_LEARNER, ags=False, link=EAST_LINK, module=world.east_module)
    world.tokens[EAST_LEARNER.sub] = learner
    take_a_check(east_flow, learner, correct_items=3, module=world.east_module)
    world.tokens[EAST_ADMIN.sub] = launch(east_flow, EAST_ADMIN, ags=False)
    world.e = footprint(app, world.issuer, EAST_LEARNER)
    assert world.e.person_id == E_PERSON_ID and world.e.learner_id == E_LEARNER_ID
    assert world.e.statement_ids and world.e.evidence_sources
    quarantine_one(app, world.e)
    quarantine_one(app, world.b)
