"""LTI Dynamic Registration 1.0: read the platform's configuration, register, store the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from plugin.lti.errors import RegistrationError
from plugin.lti.models import Registration
from plugin.lti.registrations import PlatformDetails, register_platform

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


def register_dynamically(
    session: Session,
    openid_configuration_url: str,
    registration_token: str,
    tool: ToolDescription,
    *,
    allowed_urls: tuple[str, ...] = ("*",),
    timeout: float = 10.0,
    http: requests.Session | None = None,
) -> Registration:
    """Carry out Dynamic Registration §3.3–3.6 and store the platform and its deployment."""
    if not openid_configuration_url:
        raise RegistrationError(
            "openid_configuration is missing: open this URL from the platform's registration",
            field="openid_configuration",
        )
    _check_url(openid_configuration_url, "openid_configuration")
    if not url_allowed(openid_configuration_url, allowed_urls):
        raise RegistrationError(
            "this tool does not accept dynamic registration from "
            f"{openid_configuration_url}; its administrator must add the platform's URL to "
            "lti.dynamic_registration_urls",
            field="openid_configuration",
            code="registration_not_allowed",
        )
    client = http or requests.Session()
    headers = {"Accept": "application/json"}
    if registration_token:
        # Canvas requires the registration token on this request too.
        headers["Authorization"] = f"Bearer {registration_token}"
    config = _get_json(client, openid_configuration_url, headers, timeout, "openid_configuration")
    for field in REQUIRED_PLATFORM_FIELDS:
        if not isinstance(config.get(field), str) or not config[field]:
            raise RegistrationError(
                f"the platform configuration lacks {field}", field=f"openid_configuration.{field}"
            )
    issuer = config["issuer"]
    # Dynamic Registration §3.5.1: the configuration URL must begin with the issuer.
    if not openid_configuration_url.startswith(issuer.rstrip("/")):
        raise RegistrationError(
            f"issuer {issuer} does not match the configuration URL", field="issuer"
        )
    algorithms = config.get("id_token_signing_alg_values_supported") or ["RS256"]
    if "RS256" not in algorithms:
        raise RegistrationError(
            "the platform does not sign id_tokens with RS256",
            field="id_token_signing_alg_values_supported",
        )
    body = tool.client_registration(config)
    post_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        post_headers["Authorization"] = f"Bearer {registration_token}"
    try:
        response = client.post(
            config["registration_endpoint"], json=body, headers=post_headers, timeout=timeout
        )
    except requests.RequestException as exc:
        raise RegistrationError(
            f"the registration endpoint did not answer ({type(exc).__name__})",
            field="registration_endpoint",
        ) from None
    if response.status_code not in (200, 201):
        raise RegistrationError(
            f"the platform refused the registration (HTTP {response.status_code}): "
            f"{response.text[:300]}",
            field="registration_endpoint",
        )
    try:
        answer = response.json()
    except ValueError:
        raise RegistrationError(
            "the registration answer is not JSON", field="registration_endpoint"
        ) from None
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("the registration answer has no client_id", field="client_id")
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    platform = config.get(PLATFORM_CONFIGURATION) or {}
    details = PlatformDetails(
        issuer=issuer,
        client_id=client_id,
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        key_set_url=config["jwks_uri"],
        name=str(platform.get("product_family_code") or issuer),
        auth_audience=str(config.get("authorization_server") or ""),
    )
    deployments = [str(deployment_id)] if deployment_id else []
    return register_platform(session, details, deployments, origin="dynamic")


def url_allowed(url: str, allowed_urls: tuple[str, ...]) -> bool:
    """True when ``url`` starts with one of the allowed prefixes ("*" allows all)."""
    return any(prefix == "*" or url.startswith(prefix) for prefix in allowed_urls)


def _check_url(url: str, field: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise RegistrationError(f"{field} must be an http(s) URL", field=field)


def _get_json(
    client: requests.Session, url: str, headers: dict[str, str], timeout: float, field: str
) -> dict[str, Any]:
    try:
        response = client.get(url, headers=headers, timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except requests.RequestException as exc:
        raise RegistrationError(
            f"{field} could not be fetched ({type(exc).__name__})", field=field
        ) from None
    except ValueError:
        raise RegistrationError(f"{field} is not JSON", field=field) from None
    if not isinstance(data, dict):
        raise RegistrationError(f"{field} is not a JSON object", field=field)
    return data
