"""OIDC login initiation (LTI 1.3 core §5.1.1; 1EdTech Security Framework §5.1.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pylti1p3.exception import OIDCException
from pylti1p3.oidc_login import OIDCLogin
from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.lti.adapters import (
    CapturingSessionService,
    CollectingCookieService,
    CookieToSet,
    DatabaseToolConf,
    ToolRequest,
    UrlRedirect,
)
from plugin.lti.claims import storable
from plugin.lti.errors import LaunchRejected
from plugin.lti.models import LoginState, Registration
from plugin.lti.registrations import registrations_for_issuer, web_origin

MAX_STORAGE_TARGET_LENGTH = 255  # lti_login_states.storage_target
# What a third-party initiated login may carry (LTI 1.3 core §5.1.1.1, Client Side OIDC §3).
LOGIN_PARAMETERS = (
    "iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
    "lti_deployment_id", "lti_storage_target",
)  # fmt: skip


class ToolOidcLogin(OIDCLogin[ToolRequest, DatabaseToolConf, Any, Any, str]):
    """pylti1p3's login, answering with a URL instead of a framework response."""

    def get_redirect(self, url: str) -> UrlRedirect:
        """The authentication request URL."""
        return UrlRedirect(url)


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser, and what to remember about this login."""

    auth_url: str
    state: str
    nonce: str
    cookies: list[CookieToSet] = field(default_factory=list)
    storage_target: str = ""

    @property
    def platform_origin(self) -> str:
        """Origin of the platform's authorization endpoint (postMessage target origin); ""
        when the URL has none."""
        return web_origin(self.auth_url)


def begin_login(
    session: Session,
    request: ToolRequest,
    launch_url: str,
    state_lifetime: timedelta,
) -> LoginRedirect:
    """Check a third-party initiated login and build the authentication request.

    The state and nonce are stored together, so a launch must bring back the pair issued
    here; the nonce can be used once (see :mod:`plugin.lti.launch`).
    """
    for param in ("iss", "login_hint"):
        if not request.get_param(param):
            raise LaunchRejected("login_missing_parameter", param=param)
    for param in LOGIN_PARAMETERS:
        if not storable(request.get_param(param)):
            # Looked up or stored below; PostgreSQL refuses a NUL instead of finding nothing.
            raise LaunchRejected("login_invalid_parameter", param=param)
    issuer = request.get_param("iss")
    client_id = request.get_param("client_id")
    registrations = _check_platform_known(session, issuer, client_id)

    tool_conf = DatabaseToolConf(session)
    tool_conf.remember(registrations)
    cookies = CollectingCookieService(request)
    sessions = CapturingSessionService(request)
    login = ToolOidcLogin(request, tool_conf, sessions, cookies)
    try:
        auth_url = login.get_redirect_object(launch_url).get_redirect_url()
    except OIDCException:
        raise LaunchRejected(
            "unknown_platform", issuer=issuer, client_id=client_id or "-"
        ) from None
    state = next(c.value for c in cookies.to_set if c.name.startswith("lti1p3-state-"))
    nonce = sessions.nonce
    assert nonce is not None, "pylti1p3 made no nonce"
    chosen = login.get_client_id()
    row = next((r for r in registrations if r.client_id == chosen), None)
    assert row is not None, "pylti1p3 chose a registration the issuer does not have"
    storage_target = request.get_param("lti_storage_target")
    if len(storage_target) > MAX_STORAGE_TARGET_LENGTH:
        # A frame name or "_parent" (LTI Client Side OIDC Launch); a value longer than the
        # column names no frame: rely on the state cookie alone rather than fail the login.
        storage_target = ""
    if storage_target and not web_origin(row.auth_login_url):
        # LTI Client Side OIDC Launch §3: messages go to, and answers come only from, the
        # platform's origin (that of its OIDC authorization endpoint). Without one, platform
        # storage cannot be used safely, and "*" would hand state and nonce to any window.
        raise LaunchRejected("platform_origin_unknown", issuer=issuer)
    now = utcnow()
    session.execute(delete(LoginState).where(LoginState.expires_at < now))
    session.add(
        LoginState(
            state=state,
            nonce=nonce,
            registration_id=row.id,
            storage_target=storage_target,
            created_at=now,
            expires_at=now + state_lifetime,
        )
    )
    session.flush()
    return LoginRedirect(
        auth_url=auth_url,
        state=state,
        nonce=nonce,
        cookies=cookies.to_set,
        storage_target=storage_target,
    )


def _check_platform_known(session: Session, issuer: str, client_id: str) -> list[Registration]:
    """The issuer's registrations (of ``client_id`` when given); refuses unknown or disabled
    platforms with a reason an administrator understands."""
    rows = registrations_for_issuer(session, issuer)
    if client_id:
        rows = [r for r in rows if r.client_id == client_id]
    if not rows:
        raise LaunchRejected("unknown_platform", issuer=issuer, client_id=client_id or "-")
    if not any(r.enabled for r in rows):
        raise LaunchRejected("platform_disabled", issuer=issuer)
    if not client_id and len([r for r in rows if r.enabled]) > 1:
        # Several client_ids under one issuer: the platform must say which (LTI 1.3 §5.1.1.3).
        raise LaunchRejected("login_missing_parameter", param="client_id")
    return rows
