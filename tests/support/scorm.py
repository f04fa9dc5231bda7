"""Modules for SCORM packages in the tests: made in the default organisation, tagged."""

from __future__ import annotations

from typing import Any

from flask import Flask

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module, set_module_tags
from plugin.organisations.services import default_organisation
from tests.support.app import IRI_BASE


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
