"""One database session per request, and one rule for its transaction: the request's work is
committed when the response succeeds (status below 400) and rolled back when it fails, so
views and services never commit (docs/ARCHITECTURE.md §8)."""

from __future__ import annotations

from flask import Flask, Response, current_app, g
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


def _enter_request() -> None:
    g.request_depth = g.get("request_depth", 0) + 1


def _leave_request(_exc: BaseException | None) -> None:
    g.request_depth = g.get("request_depth", 1) - 1


def _end_transaction(response: Response) -> Response:
    """Commit the request's work on a successful response, roll it back on an error one."""
    session = g.get("db_session")
    # A request answered inside another (the tests' in-process transport to the sandbox LMS)
    # shares its app context, hence its session: only the outermost request ends the transaction.
    if session is None or g.get("request_depth", 1) > 1:
        return response
    if response.status_code < 400:
        session.commit()
    else:
        session.rollback()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Open and close the request session, and end its transaction by the response's status.

    Registered before every other hook, so the commit runs after the other ``after_request``
    hooks (Flask runs them in reverse): a hook that fails still rolls the request back.
    """
    app.before_request(_enter_request)
    app.after_request(_end_transaction)
    app.teardown_request(_leave_request)
    app.teardown_appcontext(_close_session)
