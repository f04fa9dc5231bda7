"""The SCORM player: the learner's launch of a SCORM module, the package's files and commits.

``/lti/module`` hands a SCORM module's launch to :func:`open_player`, which opens (or resumes)
the learner's attempt and redirects to ``/scorm/<runtime token>/play``: from there on no page
and no package file holds the launch token. The runtime token names one attempt; the package's
files are read under it, for that attempt's version only, and commits write only that attempt.
The package's script needs inline script (authoring tools write it), so its files are served
with a policy of their own; ``[content] base_url`` puts the player and the files on another
origin, where that script cannot read the tool's pages.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from plugin import app_state
from plugin.competencies.models import Module
from plugin.content.cmi import CmiRefused, read_commit
from plugin.content.navigation import controls
from plugin.content.runtime import (
    attempt_for_token,
    commit,
    find_item,
    initial_cmi,
    issue_runtime_token,
    open_attempt,
    sco_items,
    sco_state,
)
from plugin.content.runtime_models import RuntimeAttempt
from plugin.core.errors import NotFound
from plugin.lti.models import Launch
from plugin.web.content_files import send_package_file
from plugin.web.player_messages import refusal_message
from plugin.web.player_navigation import navigation_response, navigation_settings
from plugin.web.player_results import record_committed, record_finished, record_opened

blueprint = Blueprint("player", __name__)
TOKEN_HEADER = "X-Runtime-Token"
MAX_COMMIT_BYTES = 1024 * 1024  # 2004's suspend_data (64 000) and 500 interactions fit well
# Package files: authoring tools write inline script and styles and evaluate strings, so they
# may; they reach only this origin (the commit URL and their own files), and only the player
# frames them, inside the platforms that frame the tool (frame-ancestors, added per response).
PACKAGE_POLICY = (
    "default-src 'self' data: blob:; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; "
    "media-src 'self' data: blob: https:; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def _external(endpoint: str, **values: Any) -> str:
    """A player URL, on ``[content] base_url`` when one is set."""
    path = url_for(endpoint, **values)
    base = app_state.settings().content.base_url.rstrip("/")
    return f"{base}{path}" if base else path


def open_player(launch: Launch, module: Module) -> BaseResponse:
    """Open or resume the learner's attempt and send them to the player (no launch token)."""
    session = app_state.session()
    attempt = open_attempt(session, launch, module)
    if attempt is None:
        raise NotFound(_("This module has no SCORM package yet."), field="package")
    record_opened(session, attempt)
    token = issue_runtime_token(app_state.settings().secret_key, attempt)
    response = BaseResponse(status=303)
    response.headers["Location"] = _external("player.play", token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


def runtime_attempt(token: str) -> RuntimeAttempt:
    """The attempt ``token`` names (404 when none), with the learner's language set."""
    attempt = attempt_for_token(app_state.session(), app_state.settings().secret_key, token)
    if attempt is None:
        abort(404)  # an invalid, expired or withdrawn token opens nothing, as an unknown URL
    launch = app_state.session().get(Launch, attempt.launch_id)
    # The learner's language, as on their launch's pages (flask-babel reads it once per request).
    g.launch_locale = launch.locale if launch is not None else ""
    return attempt


def _file_url(token: str, launch_href: str) -> str:
    # The item's parameters (imsmanifest "parameters") stay a query, not part of the path.
    path, mark, query = launch_href.partition("?")
    url = url_for("player.package_file", token=token, file_path=path)
    return f"{url}{mark}{query}"


@blueprint.get("/scorm/<token>/play")
def play(token: str) -> Response:
    """The player: the SCO in a frame, the table of contents, the run-time API's settings."""
    attempt = runtime_attempt(token)
    items = attempt.version.items
    if not items:
        raise NotFound(_("This SCORM package has nothing to launch."), field="package")
    chosen = request.args.get("sco", "")
    item = find_item(attempt, chosen) if chosen else None
    if chosen and item is None:
        # Only an item of the attempt's own version is ever delivered.
        raise NotFound(_("This SCORM package has no such item."), field="sco")
    if item is None:
        item = sco_items(attempt)[0] if sco_items(attempt) else items[0]
    nav = controls(attempt.version, item.identifier)
    state = sco_state(app_state.session(), attempt, item.identifier)
    settings = {
        "version": "1.2" if attempt.version.scorm_version == "1.2" else "2004",
        "sco": item.identifier,
        "isSco": item.scorm_type == "sco",
        "seq": state.seq if state is not None else 0,
        "commitUrl": url_for("player.commit_data"),
        "token": token,
        "cmi": initial_cmi(attempt, item, state),
        "nav": navigation_settings(token, item.identifier, nav),
    }
    response = Response(
        render_template(
            "player/player.html",
            attempt=attempt,
            items=items,
            item=item,
            token=token,
            nav=nav,
            settings=json.dumps(settings),
            src=_file_url(token, item.launch_href),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/scorm/<token>/navigate")
def navigate(token: str) -> BaseResponse:
    """Act on a navigation request: ``request`` (continue, previous, choice with ``target``,
    exit, exitAll, suspendAll) made on the item ``from``."""
    return navigation_response(runtime_attempt(token), token)


@blueprint.get("/scorm/<token>/files/<path:file_path>")
def package_file(token: str, file_path: str) -> Response:
    """A file of the attempt's package version, under the package's own policy."""
    attempt = runtime_attempt(token)
    return send_package_file(attempt.version.storage_key, file_path, PACKAGE_POLICY)


def _answer(ok: bool, status: int = 200, **extra: Any) -> Response:
    # scorm-again reads {"result": true, "errorCode": 0}; 101 is SCORM's "general exception".
    body = {"result": ok, "errorCode": 0 if ok else 101, **extra}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _body() -> dict[str, Any] | Response:
    """The commit's JSON object, or the refusal to answer with."""
    raw = request.stream.read(MAX_COMMIT_BYTES + 1)
    if len(raw) > MAX_COMMIT_BYTES:
        return _answer(False, 413, field="cmi", message=_("The commit is too large."))
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _answer(False, 400, field="cmi", message=_("The commit is not a JSON object."))
    return body


@blueprint.post("/scorm/commit")
def commit_data() -> Response:
    """Store a SCO's commit: ``{"sco", "seq", "final", "cmi": {flattened}}`` with the runtime
    token in the ``X-Runtime-Token`` header, or in the body as ``token`` (a beacon sent as the
    page goes away cannot set headers)."""
    body = _body()
    token = request.headers.get(TOKEN_HEADER)
    if not token and isinstance(body, dict):
        token = body.get("token")
    attempt = (
        attempt_for_token(app_state.session(), app_state.settings().secret_key, token)
        if isinstance(token, str) and token
        else None
    )
    if attempt is None:
        # Who sent it is unknown: that comes first, before what is wrong with the body.
        return _answer(
            False,
            401,
            field="token",
            message=_("The player's session has ended: open the activity again in your LMS."),
        )
    if isinstance(body, Response):
        return body
    launch = app_state.session().get(Launch, attempt.launch_id)
    g.launch_locale = launch.locale if launch is not None else ""
    sco, seq, data = body.get("sco"), body.get("seq"), body.get("cmi")
    item = find_item(attempt, sco) if isinstance(sco, str) else None
    if item is None or item.scorm_type != "sco":
        return _answer(False, 400, field="sco", message=_("This package has no such SCO."))
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**31:
        return _answer(
            False, 400, field="seq", message=_("The commit has no valid sequence number.")
        )
    if not isinstance(data, dict):
        return _answer(False, 400, field="cmi", message=_("The commit has no CMI data."))
    try:
        values = read_commit(attempt.version.scorm_version, data)
    except CmiRefused as refused:
        return _answer(False, 400, field=refused.element, message=refusal_message(refused))
    was_open = attempt.is_open
    stored = commit(
        app_state.session(), attempt, item, seq, values, final=body.get("final") is True
    )
    if stored:
        # answered for the interactions it answered, suspended when it left with suspend.
        record_committed(app_state.session(), attempt, item, final=body.get("final") is True)
    if was_open and not attempt.is_open:
        # The last SCO has ended: the module's result, in this commit's transaction.
        record_finished(app_state.session(), attempt)
    return _answer(True, stored=stored)
