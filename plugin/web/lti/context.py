"""The launch a request belongs to, from the signed launch token on its link or form."""

from __future__ import annotations

from typing import Any, Literal, overload
from urllib.parse import urlencode

from flask import Flask, g, request, url_for
from flask_babel import gettext as _

from plugin import app_state
from plugin.core.errors import PluginError
from plugin.lti.models import Launch
from plugin.lti.tokens import (
    LaunchWithdrawn,
    issue_launch_token,
    launch_for_token,
    remember_locale,
)
from plugin.web.i18n import normalise_locale

TOKEN_PARAM = "lt"


class LaunchExpired(PluginError):
    """No valid launch token: the page must be opened from the LMS again."""

    code = "launch_expired"
    status = 401


class LaunchRefused(PluginError):
    """A launch token whose platform or deployment the operator has switched off."""

    status = 403


def withdrawn_message(code: str) -> str:
    """What a person reads when their launch was withdrawn (``LaunchWithdrawn.code``)."""
    messages = {
        "platform_disabled": _(
            "Your LMS's registration with this tool has been disabled: this page can no longer "
            "be used. Ask your LMS administrator."
        ),
        "deployment_inactive": _(
            "This tool's deployment in your LMS has been deactivated: this page can no longer "
            "be used. Ask your LMS administrator."
        ),
    }
    return messages.get(
        code,
        _("Your LMS's organisation is no longer served by this tool. Ask your LMS administrator."),
    )


def token_for(launch: Launch) -> str:
    """A launch token for ``launch``."""
    return issue_launch_token(app_state.settings().secret_key, launch.id)


@overload
def current_launch(required: Literal[True] = True) -> Launch: ...


@overload
def current_launch(required: bool) -> Launch | None: ...


def current_launch(required: bool = True) -> Launch | None:
    """The launch named by the request's token; raises :class:`LaunchExpired` if required."""
    if "launch" in g:
        known: Launch = g.launch
        return known
    token = request.values.get(TOKEN_PARAM, "")
    max_age = app_state.settings().lti.launch_token_minutes * 60
    try:
        launch = launch_for_token(
            app_state.session(), app_state.settings().secret_key, token, max_age
        )
    except LaunchWithdrawn as exc:
        if not required:
            return None
        raise LaunchRefused(withdrawn_message(exc.code), code=exc.code) from None
    if launch is None:
        if required:
            raise LaunchExpired(
                _(
                    "This page needs a launch from your LMS, or the launch has expired: "
                    "open the activity again in your LMS."
                )
            )
        return None
    chosen = normalise_locale(request.args.get("lang"))
    if chosen and request.method == "GET" and chosen != normalise_locale(launch.locale):
        # The person's own choice of language (a link followed, never a form sent: a refused
        # form writes nothing) stays with their launch, as the token carries the session: the
        # next pages keep it. Written in a transaction of its own, committed at once, so that
        # no write of this request is pending while the page calls the platform (roster,
        # grades), which on SQLite would wait for this one.
        with app_state.database().session_scope() as own:
            remember_locale(own, launch.id, chosen)
    g.launch = launch
    g.launch_token = token
    g.launch_locale = chosen or launch.locale
    return launch


def launch_url_for(endpoint: str, **values: Any) -> str:
    """``url_for`` that carries the current launch token (the tool's session in an iframe)."""
    token = g.get("launch_token")
    if token:
        values[TOKEN_PARAM] = token
    return url_for(endpoint, **values)


def with_launch_token(url: str) -> str:
    """``url`` with the current launch token appended."""
    token = g.get("launch_token")
    if not token:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({TOKEN_PARAM: token})}"


def init_app(app: Flask) -> None:
    """Offer the helpers to templates, and pick up the launch's locale early."""

    @app.before_request
    def _load_launch_locale() -> None:
        if request.values.get(TOKEN_PARAM):
            current_launch(required=False)

    app.jinja_env.globals["launch_url_for"] = launch_url_for
    app.jinja_env.globals["with_launch_token"] = with_launch_token
    app.jinja_env.globals["launch_token"] = lambda: g.get("launch_token", "")
    # The launch this request already read (None without one): the staff bar's role check.
    app.jinja_env.globals["request_launch"] = lambda: g.get("launch")
