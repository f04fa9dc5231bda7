"""LTI Dynamic Registration 1.0: read the platform's configuration, register, store the result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from plugin.core.guarded_http import GuardedHttp, GuardedRequestFailed
from plugin.core.urls import HttpUrl, UrlRefused, admitting_entry, parse_allow_entry, parse_http_url
from plugin.lti.errors import RegistrationError
from plugin.lti.models import Registration
from plugin.lti.registrations import PlatformDetails, create_registration, find_registration
from plugin.organisations.services import create_organisation, unused_key

log = logging.getLogger("plugin.lti")

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
# Identity claims the tool asks for: no email (privacy; docs/ARCHITECTURE.md §5).
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "locale")
REQUIRED_PLATFORM_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "registration_endpoint",
    "jwks_uri",
    "token_endpoint",
)
ENDPOINT_FIELDS = ("authorization_endpoint", "registration_endpoint", "jwks_uri", "token_endpoint")


@dataclass(frozen=True)
class ToolDescription:
    """The tool's own URLs and name, as platforms must see them."""

    name: str
    base_url: str
    login_url: str
    launch_url: str
    jwks_url: str
    logo_url: str = ""

    @property
    def domain(self) -> str:
        """Host (and port) of the tool."""
        return urlsplit(self.base_url).netloc

    def client_registration(self, platform_config: dict[str, Any]) -> dict[str, Any]:
        """The OIDC client registration body (Dynamic Registration §3.5.2)."""
        supported = {
            m.get("type")
            for m in platform_config.get(PLATFORM_CONFIGURATION, {}).get("messages_supported", [])
            if isinstance(m, dict)
        }
        messages: list[dict[str, Any]] = [
            {"type": "LtiResourceLinkRequest", "target_link_uri": self.launch_url}
        ]
        if not supported or "LtiDeepLinkingRequest" in supported:
            messages.append(
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": self.launch_url,
                    "label": self.name,
                    "placements": ["ContentArea"],
                    "supported_types": ["ltiResourceLink"],
                }
            )
        body: dict[str, Any] = {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": self.login_url,
            "redirect_uris": [self.launch_url],
            "client_name": self.name,
            "jwks_uri": self.jwks_url,
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": " ".join(SCOPES),
            TOOL_CONFIGURATION: {
                "domain": self.domain,
                "target_link_uri": self.launch_url,
                "claims": list(CLAIMS),
                "messages": messages,
            },
        }
        if self.logo_url:
            body["logo_uri"] = self.logo_url
        return body

    def as_config(self) -> dict[str, Any]:
        """The values an administrator enters for a manual registration."""
        return {
            "name": self.name,
            "domain": self.domain,
            "oidc_login_url": self.login_url,
            "redirect_uris": [self.launch_url],
            "target_link_uri": self.launch_url,
            "deep_linking_url": self.launch_url,
            "jwks_url": self.jwks_url,
            "dynamic_registration_url": self.base_url + "/lti/register",
            "signing_algorithm": "RS256",
            "claims": list(CLAIMS),
            "scopes": list(SCOPES),
            "messages": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
            "custom_parameters": {},
        }


@dataclass(frozen=True)
class AdmittedUrl:
    """An ``openid_configuration`` URL the allow-list admits, and the origins it names."""

    url: HttpUrl
    named_origins: frozenset[str]


def admit_configuration_url(
    openid_configuration_url: str, allowed_urls: tuple[str, ...]
) -> AdmittedUrl:
    """The parsed ``openid_configuration`` URL, if ``lti.dynamic_registration_urls`` admits it.

    Checked before any request is made and before the page may be framed by the URL's origin.
    """
    if not openid_configuration_url:
        raise RegistrationError.coded("openid_configuration_missing", field="openid_configuration")
    url = _parse(openid_configuration_url, "openid_configuration")
    entries = []
    for text in allowed_urls:
        try:
            entries.append(parse_allow_entry(text))
        except UrlRefused:
            continue  # config loading refuses such entries; never let one admit anything
    entry = admitting_entry(url, entries)
    if entry is None:
        raise RegistrationError.coded(
            "registration_not_allowed",
            field="openid_configuration",
            url=openid_configuration_url,
        )
    named = frozenset(e.prefix.origin for e in entries if e.prefix is not None)
    return AdmittedUrl(url, named)


def register_dynamically(
    session: Session,
    admitted: AdmittedUrl,
    registration_token: str,
    tool: ToolDescription,
    *,
    timeout: float = 10.0,
    http: GuardedHttp | None = None,
) -> Registration:
    """Carry out Dynamic Registration §3.3–3.6 and store a NEW platform and its deployment.

    Only origins the allow-list names may be internal addresses; every other request goes to a
    public address (:mod:`plugin.core.guarded_http`). Any failure to fetch or post shows one
    generic error (details in the log only), so the page cannot be used to scan ports or read
    internal answers. An existing registration is never changed (``registration_exists``), and
    the platform gets an organisation of its own (docs/ARCHITECTURE.md §9).
    """
    client = http or GuardedHttp(timeout=timeout, internal_origins=admitted.named_origins)
    configuration_url = admitted.url
    config = _exchange(
        lambda: client.get_json(configuration_url.text, _headers(registration_token)), "fetch"
    )
    issuer_url = _check_configuration(config, configuration_url)
    issuer = config["issuer"]
    platform = config.get(PLATFORM_CONFIGURATION) or {}
    name = (
        str(platform.get("product_family_code") or issuer) if isinstance(platform, dict) else issuer
    )
    body = tool.client_registration(config)
    answer = _exchange(
        lambda: client.post_json(
            config["registration_endpoint"], body, _headers(registration_token)
        ),
        "post",
    )
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id.strip():
        raise RegistrationError.coded("client_id_missing", field="client_id")
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    details = PlatformDetails(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        key_set_url=config["jwks_uri"],
        name=name,
        auth_audience=str(config.get("authorization_server") or ""),
    )
    if find_registration(session, issuer, client_id) is not None:
        # Refused before an organisation is made for it; create_registration checks again.
        raise RegistrationError.coded(
            "registration_exists", field="client_id", issuer=issuer, client_id=client_id
        )
    organisation = create_organisation(
        session, unused_key(session, issuer_url.host), f"{name} ({issuer_url.host})"[:255]
    )
    deployments = [str(deployment_id)] if deployment_id else []
    return create_registration(
        session, details, deployments, origin="dynamic", organisation=organisation
    )


def _headers(registration_token: str) -> dict[str, str]:
    """The headers of both requests; Canvas requires the registration token on the fetch too."""
    headers = {"Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    return headers


def _check_configuration(config: Any, configuration_url: HttpUrl) -> HttpUrl:
    """The platform's configuration has what the tool needs (Dynamic Registration §3.4, §3.5);
    the issuer's URL."""
    if not isinstance(config, dict):
        log.warning("dynamic registration: the configuration is not a JSON object")
        raise RegistrationError.coded("platform_unreachable")
    for field in REQUIRED_PLATFORM_FIELDS:
        if not isinstance(config.get(field), str) or not config[field]:
            raise RegistrationError.coded(
                "configuration_incomplete", field=f"openid_configuration.{field}"
            )
    issuer = config["issuer"]
    issuer_url = _parse(issuer, "issuer")
    # Dynamic Registration §3.5.1: the issuer's domain must be the one the configuration was
    # fetched from, or any site could claim to be another platform.
    if issuer_url.host != configuration_url.host:
        raise RegistrationError.coded(
            "issuer_host_mismatch", field="issuer", issuer=issuer, host=configuration_url.host
        )
    for field in ENDPOINT_FIELDS:
        _parse(config[field], f"openid_configuration.{field}")
    algorithms = config.get("id_token_signing_alg_values_supported") or ["RS256"]
    if "RS256" not in algorithms:
        raise RegistrationError.coded(
            "rs256_unsupported", field="id_token_signing_alg_values_supported"
        )
    return issuer_url


def _parse(text: Any, field: str) -> HttpUrl:
    """``text`` as an http(s) URL without user info or fragment, else a RegistrationError."""
    try:
        return parse_http_url(text if isinstance(text, str) else "")
    except UrlRefused as exc:
        raise RegistrationError.coded("url_refused", field=field, reason=exc) from None


def _exchange(call: Callable[[], Any], what: str) -> Any:
    """Run a guarded request; any failure becomes the one generic error, its cause logged."""
    try:
        return call()
    except GuardedRequestFailed as exc:
        log.warning("dynamic registration: %s failed: %s", what, exc)
        raise RegistrationError.coded("platform_unreachable") from None
