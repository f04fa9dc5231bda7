"""Fixtures for the framework and catalog tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework, load_framework
from plugin.competencies.models import Framework
from tests.support.app import IRI_BASE


@pytest.fixture
def framework(session: Session, framework_data: dict[str, Any]) -> Framework:
    """The bundled framework, loaded into ``session``'s empty database."""
    load_framework(session, framework_data, IRI_BASE)
    loaded = get_framework(session)
    assert loaded is not None
    return loaded
