"""Launch tokens: the tool's session inside an LMS iframe, carried on links and forms.

Third-party cookies are blocked in Safari and Chrome Incognito, so after a launch the tool
does not rely on a cookie: every link and form carries a signed, short-lived token that names
the launch.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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
