"""The launch benchmark's baseline: a minimal LTI 1.3 tool written as pylti1p3's README shows.

Configuration from a JSON file (``ToolConfJsonFile``), ``FlaskOIDCLogin`` and
``FlaskMessageLaunch`` on ``FlaskRequest()`` with the default storage (Flask's session), and
no public-key cache: pylti1p3 fetches the platform's JWKS on every launch, as the README says
it does until ``set_public_key_caching`` is called. It stores nothing and renders one line.

Served by gunicorn from the project root::

    BASELINE_TOOL_CONFIG=/path/to/tool.json BASELINE_SECRET_KEY=... \\
        gunicorn -w 2 -b 127.0.0.1:5001 'bench.baseline_pylti1p3_tool:create_app()'
"""

from __future__ import annotations

import os
from html import escape

from flask import Flask, Response
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.tool_config import ToolConfJsonFile

CONFIG_ENV = "BASELINE_TOOL_CONFIG"
SECRET_ENV = "BASELINE_SECRET_KEY"


def create_app() -> Flask:
    """The baseline tool: /lti/login, /lti/launch and /healthz."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ[SECRET_ENV]
    config_path = os.environ[CONFIG_ENV]

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Response:
        """OIDC login initiation: redirect to the platform with a state cookie and a nonce."""
        tool_conf = ToolConfJsonFile(config_path)
        request = FlaskRequest()
        oidc_login = FlaskOIDCLogin(request, tool_conf)
        try:
            return oidc_login.redirect(request.get_param("target_link_uri"))
        except OIDCException as exc:
            return Response(f"login refused: {escape(str(exc))}", status=400)

    @app.post("/lti/launch")
    def launch() -> Response:
        """Validate the id_token (fetching the platform's JWKS) and greet the person."""
        tool_conf = ToolConfJsonFile(config_path)
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        try:
            launch_data = message_launch.get_launch_data()
        except LtiException as exc:
            return Response(f"launch refused: {escape(str(exc))}", status=400)
        name = launch_data.get("name") or launch_data.get("sub", "")
        return Response(f"<!doctype html><title>Launched</title><p>Hello {escape(name)}</p>")

    @app.get("/healthz")
    def healthz() -> Response:
        """200 once the server answers."""
        return Response("ok", mimetype="text/plain")

    return app
