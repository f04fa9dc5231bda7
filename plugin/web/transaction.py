"""One rule for the request's transaction: its work is committed when the response succeeds
(status below 400) and rolled back when it fails, so views and services never commit
(docs/ARCHITECTURE.md §8). The session itself is :func:`plugin.app_state.session`."""

from __future__ import annotations

from flask import Flask, Response, g

from plugin import app_state


def _enter_request() -> None:
    g.request_depth = g.get("request_depth", 0) + 1


def _leave_request(_exc: BaseException | None) -> None:
    g.request_depth = g.get("request_depth", 1) - 1


def _end_transaction(response: Response) -> Response:
    """Commit the request's work on a successful response, roll it back on an error one."""
    # A request answered inside another (the tests' in-process transport to the sandbox LMS)
    # shares its app context, hence its session: only the outermost request ends the transaction.
    if not app_state.has_session() or g.get("request_depth", 1) > 1:
        return response
    if response.status_code < 400:
        app_state.session().commit()
    else:
        app_state.session().rollback()
    return response


def init_app(app: Flask) -> None:
    """End each request's transaction by the response's status.

    Registered before every other hook, so the commit runs after the other ``after_request``
    hooks (Flask runs them in reverse): a hook that fails still rolls the request back.
    """
    app.before_request(_enter_request)
    app.after_request(_end_transaction)
    app.teardown_request(_leave_request)
