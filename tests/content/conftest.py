"""Fixtures of the content tests: a module of the default organisation and the app's storage."""

from __future__ import annotations

import pytest
from flask import Flask

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module
from plugin.organisations.services import default_organisation
from tests.support.app import IRI_BASE


@pytest.fixture
def module_key(app: Flask) -> str:
    """A page module of the default organisation, to attach packages to."""
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        data = {"title_zh": "單元", "title_en": "Module", "hours": "1"}
        module = create_module(
            session, data, framework, IRI_BASE, organisation_id=default_organisation(session).id
        )
        return module.key
