"""Settings for a test app: the secret, the framework's IRI base, an app's own database copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from plugin import create_app

TEST_SECRET = "test-secret-" + "x" * 40
IRI_BASE = "https://w3id.org/tw-civil-service-dc/"


def app_config(tmp_path: Path, database_url: str, **overrides: Any) -> dict[str, Any]:
    """A settings mapping for a test app whose instance folder is ``tmp_path``."""
    config: dict[str, Any] = {
        "env": "development",
        "secret_key": TEST_SECRET,
        "instance_dir": str(tmp_path),
        "database": {"url": database_url},
        "log": {"level": "WARNING"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    return config


def copy_database(template: Path, tmp_path: Path) -> str:
    """A copy of the SQLite file ``template`` in ``tmp_path``; its URL."""
    target = tmp_path / "plugin.sqlite3"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@contextmanager
def app_factory(tmp_path: Path, template: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps, each on its own copy of ``template`` with settings overrides (as
    :func:`app_config` takes them); their databases are closed when the block ends."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        folder = tmp_path / f"app-{len(apps)}"
        folder.mkdir()
        database_url = copy_database(template, folder)
        application = create_app(app_config(folder, database_url, **overrides))
        apps.append(application)
        return application

    try:
        yield build
    finally:
        for application in apps:
            application.extensions["plugin.db"].dispose()
