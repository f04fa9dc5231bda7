"""Where imported SCORM packages went: the storage folder, its files, the rows."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from plugin.content.models import PackageItem, PackageVersion


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
