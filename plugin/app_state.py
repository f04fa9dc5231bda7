"""The app's state, typed: its settings, database and caches, and the request's session.

``create_app`` keeps them in ``app.extensions`` (Flask's per-app store, shared by every
thread of a process) under the keys below; web/ reads them only through these accessors, which
check what they hand out, so every caller sees a typed value and a missing one fails loudly.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from plugin.core.config import Settings
from plugin.core.db import Database
from plugin.lti.keysets import KeySetCache

SETTINGS = "plugin.settings"
DATABASE = "plugin.db"
KEY_SETS = "plugin.keysets"

T = TypeVar("T")


def install(app: Flask, settings: Settings) -> None:
    """Keep ``settings`` and the database they name with ``app``."""
    app.extensions[SETTINGS] = settings
    app.extensions[DATABASE] = Database(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )


def extension(kind: type[T], key: str, app: Flask | None = None) -> T:
    """The object ``app`` (default: the current app) keeps under ``key``, a ``kind``."""
    value = (app or current_app).extensions[key]
    if not isinstance(value, kind):
        raise TypeError(f"app.extensions[{key!r}] is a {type(value).__name__}, not {kind.__name__}")
    return value


def settings(app: Flask | None = None) -> Settings:
    """The app's settings."""
    return extension(Settings, SETTINGS, app)


def database(app: Flask | None = None) -> Database:
    """The app's :class:`Database`."""
    return extension(Database, DATABASE, app)


def key_sets() -> KeySetCache:
    """The app's cache of the platforms' key sets."""
    return extension(KeySetCache, KEY_SETS)


def session() -> Session:
    """The request's session, opened on first use (closed at teardown)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    opened: Session = g.db_session
    return opened


def has_session() -> bool:
    """Whether this request has opened its session."""
    return "db_session" in g


def _close_session(_exc: BaseException | None) -> None:
    opened = g.pop("db_session", None)
    if opened is not None:
        opened.close()


def init_app(app: Flask) -> None:
    """Close the request session after every request (rolled back unless committed)."""
    app.teardown_appcontext(_close_session)
