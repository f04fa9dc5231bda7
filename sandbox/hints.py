"""Signed, short-lived values the sandbox hands out and must recognise when they come back.

The ``lti_message_hint`` names what a login is for (LTI 1.3 core §5.1.1.1: opaque to the
tool, returned unchanged in the authentication request); the deep-linking ``data`` names who
asked for content (Deep Linking 2.0 §4.4.1: returned unchanged in the response).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

MESSAGE_HINT_SALT = "sandbox-lti-message-hint"
DEEP_LINK_DATA_SALT = "sandbox-deep-link-data"
LINK = "link"
DEEP_LINK = "deep_link"


@dataclass(frozen=True)
class MessageHint:
    """What a login was started for: a resource link, or a deep-linking request."""

    kind: str
    persona: str
    link_id: int | None = None
    # Development only: a language to send in launch_presentation alone, as Moodle does.
    presentation_locale: str = ""


def issue_message_hint(secret_key: str, hint: MessageHint) -> str:
    """The signed ``lti_message_hint`` for ``hint``."""
    payload = {
        "kind": hint.kind,
        "as": hint.persona,
        "link": hint.link_id,
        "locale": hint.presentation_locale,
    }
    return URLSafeTimedSerializer(secret_key, salt=MESSAGE_HINT_SALT).dumps(payload)


def read_message_hint(secret_key: str, value: str, max_age_seconds: int) -> MessageHint | None:
    """The hint in a valid, unexpired ``lti_message_hint``, else None."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=MESSAGE_HINT_SALT).loads(
            value, max_age=max_age_seconds
        )
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(payload, dict) or payload.get("kind") not in (LINK, DEEP_LINK):
        return None
    link_id = payload.get("link")
    if payload["kind"] == LINK and not isinstance(link_id, int):
        return None
    locale = payload.get("locale")
    return MessageHint(
        kind=payload["kind"],
        persona=str(payload.get("as")),
        link_id=link_id,
        presentation_locale=locale if isinstance(locale, str) else "",
    )


def issue_deep_link_data(secret_key: str, persona: str, context_id: str) -> str:
    """The opaque ``data`` of a deep-linking request."""
    payload = {"as": persona, "context": context_id}
    return URLSafeTimedSerializer(secret_key, salt=DEEP_LINK_DATA_SALT).dumps(payload)


def read_deep_link_data(
    secret_key: str, value: object, max_age_seconds: int
) -> tuple[str, str] | None:
    """(persona, context id) from a returned ``data`` value, else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=DEEP_LINK_DATA_SALT).loads(
            value, max_age=max_age_seconds
        )
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    return str(payload.get("as")), str(payload.get("context"))
