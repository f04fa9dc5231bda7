"""Launch tokens: the tool's session inside an LMS iframe, carried on links and forms.

Third-party cookies are blocked in Safari and Chrome Incognito, so after a launch the tool
does not rely on a cookie: every link and form carries a signed, short-lived token that names
the launch.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import PluginError
from plugin.lti.models import Launch

SALT = "lti-launch-token"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def issue_launch_token(secret_key: str, launch_id: str) -> str:
    """A signed token naming ``launch_id``."""
    return _serializer(secret_key).dumps(launch_id)


def read_launch_token(secret_key: str, token: str, max_age_seconds: int) -> str | None:
    """The launch id in a valid, unexpired token, else None."""
    try:
        value = _serializer(secret_key).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        return None
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


class LaunchWithdrawn(PluginError):
    """A valid token whose platform registration or deployment has since been switched off.

    ``code`` says which: ``platform_disabled``, ``deployment_inactive`` or
    ``organisation_missing``.
    """

    code = "launch_withdrawn"
    status = 403


def withdrawn_reason(launch: Launch) -> str | None:
    """Why ``launch`` may no longer act (a code of :class:`LaunchWithdrawn`), or None."""
    deployment = launch.deployment
    registration = deployment.registration
    if not registration.enabled:
        return "platform_disabled"
    if not deployment.active:
        return "deployment_inactive"
    if registration.organisation is None:
        return "organisation_missing"
    return None


def launch_for_token(
    session: Session, secret_key: str, token: str, max_age_seconds: int
) -> Launch | None:
    """The launch a token names, checked again on this use (docs/ARCHITECTURE.md §9).

    None when the token is invalid, expired or names no unexpired launch. A launch whose
    registration was disabled, whose deployment was deactivated or whose organisation is gone
    raises :class:`LaunchWithdrawn`: disabling a platform must stop its tokens at once, not
    when they expire.
    """
    launch_id = read_launch_token(secret_key, token, max_age_seconds) if token else None
    launch = session.get(Launch, launch_id) if launch_id else None
    if launch is None or launch.expires_at <= utcnow():
        return None
    reason = withdrawn_reason(launch)
    if reason is not None:
        raise LaunchWithdrawn(reason, code=reason)
    return launch


def remember_locale(session: Session, launch_id: str, locale: str) -> None:
    """Keep ``locale`` as the language the launch's pages speak from now on (flushes)."""
    session.execute(update(Launch).where(Launch.id == launch_id).values(locale=locale[:35]))
    session.flush()
