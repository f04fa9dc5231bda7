"""One database session per request, closed (rolled back unless committed) at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from plugin.core.db import Database


def get_db() -> Database:
    """The app's :class:`Database`."""
    return current_app.extensions["plugin.db"]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Close the request session after every request."""
    app.teardown_appcontext(_close_session)
