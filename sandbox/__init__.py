"""The sandbox LMS at /sandbox (development only): a real LTI 1.3 platform for this tool.

It plays an LMS on ``sandbox.platform_url`` (another host than the tool's ``lti.base_url``) so
that the tool runs as a third-party iframe, and answers OIDC logins, launches, deep linking,
the token endpoint, AGS and NRPS with ``lti1p3platform`` doing the protocol work.

It is not the product: a package beside ``plugin/`` that the tool imports by name, through
``init_app`` below, only when ``[sandbox] enabled = true`` (docs/ARCHITECTURE.md §4).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, request
from lti1p3platform.ltiplatform import JWKS
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.core.errors import PluginError
from plugin.core.migrate import SCHEMA_UPGRADES
from plugin.lti.keys import ensure_active_key, public_jwks
from plugin.web.security import forget_frame_origins
from sandbox.courses import ensure_demo_data, register_with_tool
from sandbox.errors import service_error_response
from sandbox.migrate import upgrade_sandbox
from sandbox.platform import PlatformUrls, SandboxPlatform, SandboxPlatformConf

# Its pages and scripts travel with the package; templates keep their "sandbox/" names.
blueprint = Blueprint(
    "sandbox",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/sandbox/static",
)
EXTENSION = "sandbox"


def sandbox_platform() -> SandboxPlatform:
    """The app's sandbox platform state."""
    return current_app.extensions[EXTENSION]


def secret_key() -> str:
    """The app secret (signs message hints and deep-linking data)."""
    return app_state.settings().secret_key


def tool_key_set(session: Session) -> JWKS:
    """The tool's public keys, read in-process (the platform's copy of the tool's JWKS)."""
    ensure_active_key(session, secret_key())
    return {"keys": public_jwks(session)["keys"]}


def platform_conf(tool_jwks: JWKS | None = None) -> SandboxPlatformConf:
    """lti1p3platform's view of the sandbox and its one registered tool."""
    platform = sandbox_platform()
    return SandboxPlatformConf(urls=platform.urls, key=platform.key(), tool_jwks=tool_jwks)


@blueprint.before_request
def _on_platform_host() -> Response | None:
    """Serve the sandbox only on the platform's host, so the tool stays a third party."""
    expected = urlsplit(sandbox_platform().urls.platform_url)
    if request.host.lower() == expected.netloc.lower():
        return None
    target = sandbox_platform().urls.platform_url.rstrip("/") + request.path
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    # 307 keeps the method and body of a POST; pages (GET) get the ordinary 302.
    return redirect(target, code=302 if request.method in ("GET", "HEAD") else 307)


@blueprint.before_request
def _ensure_ready() -> None:
    """Seed the demo course and register the sandbox with the tool, once per process."""
    platform = sandbox_platform()
    if platform.ready or request.endpoint == "sandbox.static":  # a script or style sheet
        return
    session = app_state.session()
    for attempt in (1, 2):
        try:
            ensure_demo_data(session)
            register_with_tool(session, platform.urls)
            session.commit()
            break
        except IntegrityError:
            # Another request seeded at the same moment: its rows are there now; look again.
            session.rollback()
            if attempt == 2:
                raise
    platform.ready = True
    forget_frame_origins()  # the sandbox now frames the tool


@blueprint.errorhandler(PluginError)
def _handle_error(exc: PluginError) -> Response:
    """Tools get JSON refusals; people get the error page."""
    return service_error_response(exc)


def init_app(app: Flask) -> None:
    """Keep the platform's state with the app and register the sandbox routes."""
    settings = app_state.settings(app)
    app.extensions[EXTENSION] = SandboxPlatform(
        urls=PlatformUrls(
            platform_url=settings.sandbox.platform_url, tool_url=settings.lti.base_url
        ),
        instance_dir=settings.instance_dir,
    )
    # `flask --app plugin db upgrade` creates the sandbox's tables after the tool's.
    app.extensions.setdefault(SCHEMA_UPGRADES, []).append(upgrade_sandbox)
    from sandbox import api, views  # noqa: F401  (their routes attach to blueprint)

    app.register_blueprint(blueprint)
