"""SCORM packages in the tests: modules made in the default organisation and tagged, their
packages stored, the player opened through a real launch and commits sent as scorm-again does."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.framework import get_framework
from plugin.competencies.models import Module
from plugin.competencies.modules import create_module, set_module_tags
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.content.services import import_package, limits_for, storage_for
from plugin.organisations.services import default_organisation
from tests.support.app import IRI_BASE
from tests.support.flows import TOOL, Flow
from tests.support.modules import launch


def tagged_module(app: Flask, tags: list[dict[str, Any]]) -> tuple[str, str, str]:
    """A module of the default organisation with ``tags`` (item, level):
    (key, activity IRI, framework key)."""
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        data = {"title_zh": "單元", "title_en": "Module", "hours": "1"}
        made = create_module(
            session, data, framework, IRI_BASE, organisation_id=default_organisation(session).id
        )
        set_module_tags(session, made, framework, tags)
        return made.key, made.activity_iri, framework.key


def add_package(app: Flask, module_key: str, package: Path) -> None:
    """Store ``package`` as the next version of the module's package."""
    settings = app.extensions["plugin.settings"].content
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == module_key)).one()
        import_package(
            session, storage_for(settings), limits_for(settings), module, package, package.name
        )


def open_player(flow: Flow, module_key: str, sub: str = "learner-001") -> str:
    """Launch the module as learner ``sub``; the runtime token the player was opened with."""
    module = flow.land(launch(flow, link=f"rl-{module_key}", module_key=module_key, sub=sub))
    assert module.status_code == 303, module.get_data(as_text=True)
    location = module.headers["Location"]
    match = re.fullmatch(r"/scorm/([^/]+)/play", location)
    assert match, location
    return match.group(1)


def player(client: FlaskClient, runtime: str, **query: str) -> TestResponse:
    """GET the player page of ``runtime``."""
    return client.get(f"/scorm/{runtime}/play", query_string=query, base_url=TOOL)


def settings_of(page: TestResponse) -> dict[str, Any]:
    """The player's settings (what scorm-player.js configures scorm-again with)."""
    assert page.status_code == 200, page.get_data(as_text=True)
    found = re.search(r'data-settings="([^"]*)"', page.get_data(as_text=True))
    assert found
    settings: dict[str, Any] = json.loads(unescape(found.group(1)))
    return settings


def send(client: FlaskClient, runtime: str | None, body: dict[str, Any], **kw: Any) -> TestResponse:
    """POST a commit with the runtime token in the header, as scorm-again's xhrHeaders do."""
    headers = {"X-Runtime-Token": runtime} if runtime else {}
    return client.post("/scorm/commit", data=json.dumps(body), headers=headers, base_url=TOOL, **kw)


def states(app: Flask) -> list[tuple[str, int, str, str]]:
    """Every SCO row: (attempt registration, seq, location, lesson status)."""
    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.execute(
            select(
                RuntimeAttempt.registration, ScoState.seq, ScoState.location, ScoState.lesson_status
            )
            .join(ScoState.attempt)
            .order_by(ScoState.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]
