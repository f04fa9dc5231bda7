"""LTI 1.3 claim names and the mapping of LIS roles onto the tool's three roles."""

from __future__ import annotations

from collections.abc import Iterable

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

LEARNER = "learner"
DESIGNER = "designer"
ADMINISTRATOR = "administrator"


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
