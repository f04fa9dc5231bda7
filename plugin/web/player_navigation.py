"""The player's navigation: what its buttons and the SCO's ``adl.nav.request`` lead to.

The player's Previous / Continue buttons and a SCO's navigation request after ``Terminate``
(SCORM 2004 RTE §4.4.1) both come to ``/scorm/<token>/navigate``; plugin/content/navigation.py
decides whether the request is valid from the item it was made on and what it delivers. Only
an item of the attempt's own version is ever delivered: anything else is refused, naming the
field, in the learner's language.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from plugin.content.navigation import Controls, NavigationRefused, resolve, tree_for
from plugin.content.runtime_models import RuntimeAttempt
from plugin.core.errors import InvalidInput


def navigation_settings(token: str, identifier: str, nav: Controls) -> dict[str, Any]:
    """The navigation part of the player's settings for ``static/js/scorm-player.js``."""
    return {
        "url": url_for("player.navigate", token=token),
        "from": identifier,
        "requestValid": nav.request_valid(),
    }


def _refusal(refused: NavigationRefused) -> InvalidInput:
    messages = {
        "unknown_item": _("This SCORM package has no such item."),
        "unknown_request": _("This navigation request is not one the player knows."),
        "not_valid": _("The package's navigation rules do not allow this from the current item."),
    }
    return InvalidInput(messages[refused.reason], field=refused.field, code="navigation_refused")


def navigation_response(attempt: RuntimeAttempt, token: str) -> BaseResponse:
    """Deliver the item a navigation request leads to, or the page for an ending request."""
    current = request.args.get("from", "")
    wanted = request.args.get("request", "")
    target = request.args.get("target", "")
    try:
        delivered = resolve(attempt.version, current, wanted, target)
    except NavigationRefused as refused:
        raise _refusal(refused) from None
    if delivered is not None:
        response = BaseResponse(status=303)
        response.headers["Location"] = url_for("player.play", token=token, sco=delivered)
        response.headers["Cache-Control"] = "no-store"
        return response
    tree = tree_for(attempt.version)
    messages = {
        "suspendAll": _(
            "Your place is kept. Launch the activity again from your course to go on."
        ),
        "exitAll": _("You have left the package. You can go back to your course."),
        "exit": _("This item has ended. Choose another one from the contents, or go back to "
                  "your course."),
    }  # fmt: skip
    response = Response(
        render_template(
            "player/ended.html",
            attempt=attempt,
            items=attempt.version.items,
            token=token,
            message=messages[wanted],
            # After exit, the contents stay for a choice (SN §4.2.1); never after exitAll.
            show_toc=wanted == "exit" and tree.root.mode("choice"),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
