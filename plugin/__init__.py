"""An LTI 1.3 tool that tags learning modules with digital competencies and rolls up xAPI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from plugin.core.config import Settings, load_settings, settings_from_mapping
from plugin.core.errors import ConfigError
from plugin.core.logging import configure_logging

PROJECT_DIR = Path(__file__).resolve().parents[1]
STATIC_DIR = PROJECT_DIR / "static"

ConfigSource = Settings | dict[str, Any] | str | os.PathLike[str] | None


def create_app(config: ConfigSource = None) -> Flask:
    """Build the Flask application from settings, a settings mapping or a TOML file path.

    With no argument the file named by ``PLUGIN_CONFIG`` (default ``instance/config.toml``)
    is read, and a bad file stops start-up with one line naming the key and the file.
    """
    try:
        settings = _resolve_settings(config)
    except ConfigError as exc:
        if config is None:
            raise SystemExit(f"plugin: configuration error: {exc.message}") from None
        raise

    from plugin import app_state, cli, web

    configure_logging(settings.log.level)
    app = Flask(
        __name__,
        instance_path=settings.instance_dir,
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app_state.install(app, settings)
    web.init_app(app)
    cli.init_app(app)
    return app


def _resolve_settings(config: ConfigSource) -> Settings:
    if isinstance(config, Settings):
        return config
    if isinstance(config, dict):
        return settings_from_mapping(config)
    return load_settings(config)
