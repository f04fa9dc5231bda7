"""Security headers on every response, and refusal of cross-site forms (CSRF).

The tool lives in an iframe of each registered LMS, so the Content Security Policy lets
exactly those platforms frame it (CSP Level 3 ``frame-ancestors``) and loads scripts only from
the tool's own ``static/``. There are no cookies to protect a form with inside a third-party
iframe (browsers block them), so state-changing forms carry the signed launch token instead,
and a form posted from another site is refused by its ``Origin``/``Sec-Fetch-Site`` headers
before any view runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from plugin import app_state
from plugin.core.errors import Forbidden
from plugin.lti.launch import origin_of
from plugin.lti.registrations import all_framing_origins
from plugin.web.lti import current_launch

log = logging.getLogger("plugin.web")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Endpoints that take cross-site POSTs by design, each protected otherwise:
# the OIDC login and launch are posted by the platform's page and are bound by state and nonce
# (LTI 1.3 core §5.1.1, OIDC third-party initiated login); the JSON API authenticates with a
# bearer token the browser never sends on its own; the SCORM player's commits carry a runtime
# token (header or body) no other site can read; the sandbox is the development LMS.
CROSS_SITE_ENDPOINTS = frozenset({"lti.login", "lti.launch"})
CROSS_SITE_BLUEPRINTS = frozenset({"api", "player", "sandbox"})

FRAME_ORIGINS_TTL_SECONDS = 10.0
FRAME_ORIGINS = "plugin.frame_origins"  # the app.extensions key of the cache


class CrossSiteRequest(Forbidden):
    """A state-changing request that another site's page sent."""

    code = "cross_site_request"


@dataclass
class FrameOriginCache:
    """The registered platforms' origins, re-read at most every ``ttl`` seconds per process."""

    ttl: float = FRAME_ORIGINS_TTL_SECONDS
    origins: list[str] = field(default_factory=list)
    read_at: float = float("-inf")

    def get(self, load: Callable[[], list[str]]) -> list[str]:
        """The cached origins, loaded again once they are older than the TTL."""
        now = time.monotonic()
        if now - self.read_at >= self.ttl:
            self.origins = load()
            self.read_at = now
        return self.origins

    def forget(self) -> None:
        """Read the registrations again on the next response (one was just added)."""
        self.read_at = float("-inf")


def forget_frame_origins() -> None:
    """Drop the cached platform origins, after a registration changed in this process."""
    app_state.extension(FrameOriginCache, FRAME_ORIGINS).forget()


def allow_framing_by(url: str) -> None:
    """Let the platform at ``url``'s origin frame this one response (dynamic registration)."""
    g.setdefault("extra_frame_ancestors", set()).add(origin_of(url))


def allow_form_target(url: str) -> None:
    """Let this response's page post a form to ``url``'s origin (the deep-linking return)."""
    g.setdefault("extra_form_actions", set()).add(origin_of(url))


def frame_source_origin(url: str) -> str:
    """The origin of ``url`` if the tool can frame it (https, a plain ASCII host), else ""."""
    parts = urlsplit(url)
    host = parts.netloc
    plain = bool(host) and all(c.isascii() and (c.isalnum() or c in ".-:[]") for c in host)
    # http inside the tool's https page is mixed content the browser blocks without a word, and
    # anything but a plain host could smuggle a directive into the header.
    if parts.scheme.lower() != "https" or not plain:
        return ""
    return f"https://{host.lower()}"


def allow_frame_source(url: str) -> bool:
    """Let this one response's page frame ``url`` (a module's embedded resource); False when
    it cannot be framed, so the page offers a link instead of a frame the CSP would block."""
    origin = frame_source_origin(url)
    if origin:
        g.setdefault("extra_frame_sources", set()).add(origin)
    return bool(origin)


def use_policy(policy: str) -> None:
    """Answer this one response with ``policy`` as its Content Security Policy."""
    g.own_content_security_policy = policy


def tool_origins() -> set[str]:
    """The origins the tool's own pages are served from."""
    base_url = app_state.settings().lti.base_url
    origins = {request.host_url.rstrip("/")}
    if base_url:
        origins.add(origin_of(base_url))
    return origins


def _is_cross_site() -> bool:
    # Fetch Metadata (Sec-Fetch-Site) where the browser sends it; Origin otherwise. Both are
    # set by the browser and cannot be forged by a page's script.
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin not in tool_origins()


def refuse_cross_site_forms() -> None:
    """Before a state-changing view: refuse another site's form, then demand a launch token."""
    if request.method not in UNSAFE_METHODS or _exempt():
        return
    if _is_cross_site():
        log.warning(
            "cross-site %s %s refused: origin=%s sec-fetch-site=%s",
            request.method,
            request.path,
            request.headers.get("Origin", "-"),
            request.headers.get("Sec-Fetch-Site", "-"),
        )
        raise CrossSiteRequest(
            _(
                "This form was sent from another website, so it was not accepted. "
                "Open the activity from your LMS and try again."
            )
        )
    # The launch token in the form is the anti-forgery token: another site cannot read it.
    current_launch(required=True)


def _exempt() -> bool:
    if request.endpoint in CROSS_SITE_ENDPOINTS:
        return True
    return request.blueprint in CROSS_SITE_BLUEPRINTS


def frame_ancestors() -> str:
    """The ``frame-ancestors`` directive of a tool page: the registered platforms and itself.

    CSP3 checks every ancestor, so a frame inside a tool page (a SCORM package's file inside
    the player) needs the platforms too, not only 'self'.
    """
    cache = app_state.extension(FrameOriginCache, FRAME_ORIGINS)
    framers = set(cache.get(_load_framing_origins))
    framers.update(g.get("extra_frame_ancestors", ()))
    return "frame-ancestors " + " ".join(["'self'", *sorted(framers)])


def content_security_policy() -> str:
    """The CSP for a tool page: own scripts only, framed only by registered platforms."""
    if request.blueprint == "api":
        return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    form_targets = set(g.get("extra_form_actions", ()))
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Module content may show pictures and media from the web; nothing there runs.
        "img-src 'self' data: https:",
        "media-src 'self' https:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action " + " ".join(["'self'", *sorted(form_targets)]),
        frame_ancestors(),
    ]
    frame_sources = g.get("extra_frame_sources", set())
    if frame_sources:
        # Only the page that embeds a module's resource may frame its origin (CSP3 frame-src);
        # every other page keeps default-src 'self'.
        directives.append("frame-src " + " ".join(["'self'", *sorted(frame_sources)]))
    return "; ".join(directives)


def _load_framing_origins() -> list[str]:
    # A session of its own: the request's may be mid-failure when an error page is answered.
    try:
        with app_state.database().session_scope() as session:
            return all_framing_origins(session)
    except SQLAlchemyError as exc:
        # Database down: the page (often /healthz saying so) still gets a policy, just 'self'.
        log.warning("frame-ancestors: registrations unreadable (%s)", type(exc).__name__)
        return []


def set_security_headers(response: Response) -> Response:
    """Add the CSP, nosniff and a same-origin Referrer-Policy to ``response``."""
    # Launch tokens ride in URLs: no other origin may see them in a Referer.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.blueprint != "sandbox":
        # The sandbox plays the LMS, which frames the tool: it keeps its own rules. A view
        # answering with content not of the tool's making (a package's files) sets a stricter
        # policy of its own with use_policy().
        policy = g.get("own_content_security_policy") or content_security_policy()
        response.headers["Content-Security-Policy"] = policy
    return response


def init_app(app: Flask) -> None:
    """Install the header hook and the cross-site form check."""
    app.extensions[FRAME_ORIGINS] = FrameOriginCache()
    app.before_request(refuse_cross_site_forms)
    app.after_request(set_security_headers)
