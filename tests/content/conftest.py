"""Fixtures of the content tests: a module of the default organisation and the app's storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module
from plugin.content.models import PackageItem, PackageVersion
from plugin.organisations.services import default_organisation
from tests.conftest import IRI_BASE


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


def storage_dir(app: Flask) -> Path:
    """The app's package storage folder."""
    return Path(app.extensions["plugin.settings"].content.storage_dir)


def stored_files(app: Flask) -> list[Path]:
    """Every file under the storage folder (staging included)."""
    root = storage_dir(app)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def row_counts(app: Flask) -> tuple[int, int]:
    """How many version and item rows the database holds."""
    with app.extensions["plugin.db"].session_scope() as session:
        versions = session.scalar(select(func.count()).select_from(PackageVersion))
        items = session.scalar(select(func.count()).select_from(PackageItem))
        return versions or 0, items or 0
