"""LTI 1.3 claim names and the mapping of LIS roles onto the tool's three roles."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = LTI + "message_type"
CLAIM_VERSION = LTI + "version"
CLAIM_DEPLOYMENT_ID = LTI + "deployment_id"
CLAIM_TARGET_LINK_URI = LTI + "target_link_uri"
CLAIM_RESOURCE_LINK = LTI + "resource_link"
CLAIM_ROLES = LTI + "roles"
CLAIM_CONTEXT = LTI + "context"
CLAIM_CUSTOM = LTI + "custom"
CLAIM_LAUNCH_PRESENTATION = LTI + "launch_presentation"
CLAIM_TOOL_PLATFORM = LTI + "tool_platform"
CLAIM_DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

# NUL (PostgreSQL text refuses it) and unpaired surrogates (no UTF-8 form, RFC 8259 §8.2).
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")

LEARNER = "learner"
DESIGNER = "designer"
ADMINISTRATOR = "administrator"


def launch_locale(claims: dict[str, Any]) -> str:
    """The user's language as the platform sends it: the top-level ``locale`` (OpenID Connect
    standard claim, LTI 1.3 core §5.3.6), else ``launch_presentation.locale`` (§5.4.3), which
    is where Moodle puts it; "" when neither is a string."""
    locale = claims.get("locale")
    if isinstance(locale, str) and locale.strip():
        return locale.strip()
    presentation = claims.get(CLAIM_LAUNCH_PRESENTATION)
    if isinstance(presentation, dict):
        locale = presentation.get("locale")
        if isinstance(locale, str) and locale.strip():
            return locale.strip()
    return ""


def role_name(role: str) -> str:
    """``Instructor`` from a full LIS role URI, a ``membership#`` one, or the short name.

    LTI 1.3 core §A.2 allows short context role names (``Instructor``) beside full URIs;
    sub-roles (``membership/Instructor#TeachingAssistant``) name the sub-role.
    """
    name = role.rsplit("#", 1)[-1] if "#" in role else role.rstrip("/").rsplit("/", 1)[-1]
    return name.strip()


def classify_roles(
    roles: Iterable[str], designer_roles: Iterable[str], admin_roles: Iterable[str]
) -> str:
    """administrator, designer or learner; unknown and absent roles make a learner."""
    names = {role_name(role) for role in roles if isinstance(role, str)}
    if names & set(admin_roles):
        return ADMINISTRATOR
    if names & set(designer_roles):
        return DESIGNER
    return LEARNER


def storable(value: Any) -> bool:
    """True when the JSON ``value`` can be stored and sent on as JSON: no NUL, no unpaired
    surrogate in any key or string, and only finite numbers (RFC 8259 §6 has no NaN)."""
    pending = [value]
    while pending:  # a loop, not recursion: the nesting depth is the sender's choice
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE_CHARACTERS.search(item):
                return False
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
