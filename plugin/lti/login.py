"""OIDC login initiation (LTI 1.3 core §5.1.1; 1EdTech Security Framework §5.1.1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pylti1p3.exception import OIDCException
from pylti1p3.oidc_login import OIDCLogin
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.core.db import affected_rows, utcnow
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
# pylti1p3 names its state cookie "lti1p3-state-<uuid>" (CollectingCookieService's names).
STATE_COOKIE_NAME_PREFIX = "lti1p3-state-"
# Refusals that leave the purge of expired states done: the caller commits it.
CAPACITY_CODES = frozenset({"too_many_logins", "login_capacity_reached"})
# What a refusal for capacity asks the browser to wait: a minute lets some states expire.
LOGIN_RETRY_AFTER_SECONDS = 60
# What a third-party initiated login may carry (LTI 1.3 core §5.1.1.1, Client Side OIDC §3).
LOGIN_PARAMETERS = (
    "iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
    "lti_deployment_id", "lti_storage_target",
)  # fmt: skip


@dataclass(frozen=True)
class LoginLimits:
    """How many login states may exist at once: per issuer and in all.

    A login is unauthenticated (anyone can start one for a registered issuer), so without
    bounds a stream of them would grow ``lti_login_states`` without end.
    """

    per_issuer: int = 1000
    overall: int = 10000


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
    limits: LoginLimits = LoginLimits(),
) -> LoginRedirect:
    """Check a third-party initiated login and build the authentication request.

    The state and nonce are stored together, so a launch must bring back the pair issued
    here; the nonce can be used once (see :mod:`plugin.lti.launch`). The state cookie lives
    as long as the stored state (``state_lifetime``). Refused when the issuer's or all
    login states reach ``limits`` even after the expired ones are purged.
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
    state = next(c.value for c in cookies.to_set if c.name.startswith(STATE_COOKIE_NAME_PREFIX))
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
    _check_room(session, issuer, now, limits)
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
    # pylti1p3 gives the state cookie five minutes; it must live as long as the state row,
    # or a login the row still allows fails for a missing cookie (and the other way round).
    lifetime_seconds = int(state_lifetime.total_seconds())
    cookies_to_set = [
        dataclasses.replace(cookie, max_age=lifetime_seconds)
        if cookie.name.startswith(STATE_COOKIE_NAME_PREFIX)
        else cookie
        for cookie in cookies.to_set
    ]
    return LoginRedirect(
        auth_url=auth_url,
        state=state,
        nonce=nonce,
        cookies=cookies_to_set,
        storage_target=storage_target,
    )


def purge_expired_login_states(session: Session, before: datetime) -> int:
    """Delete the login states that expired before ``before`` (flushes); how many.

    The login path passes the current time when a bound is reached; ``flask purge`` passes
    the retention cutoff (docs/ARCHITECTURE.md §10).
    """
    result = session.execute(
        delete(LoginState)
        .where(LoginState.expires_at < before)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return affected_rows(result) or 0


def _count_states(session: Session, issuer: str | None = None) -> int:
    """Login states in all, or of every registration of ``issuer`` (all its client_ids)."""
    query = select(func.count()).select_from(LoginState)
    if issuer is not None:
        of_issuer = select(Registration.id).where(Registration.issuer == issuer)
        query = query.where(LoginState.registration_id.in_(of_issuer))
    return int(session.scalar(query) or 0)


def _check_room(session: Session, issuer: str, now: datetime, limits: LoginLimits) -> None:
    """Refuse a login when the issuer's states (429) or all states (503) are at their
    bound; expired states are purged first, only when a bound is reached, so that a
    normal login costs two counts and no delete."""
    full_issuer = _count_states(session, issuer) >= limits.per_issuer
    full_overall = _count_states(session) >= limits.overall
    if not (full_issuer or full_overall):
        return
    purge_expired_login_states(session, now)
    if _count_states(session, issuer) >= limits.per_issuer:
        raise LaunchRejected("too_many_logins", issuer=issuer)
    if _count_states(session) >= limits.overall:
        raise LaunchRejected("login_capacity_reached")


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
