"""Launch validation: pylti1p3's checks plus what it lacks, and the launch record.

Beyond pylti1p3 this module: consumes the nonce (a replayed id_token is refused), accepts
``aud`` as a list only with a matching ``azp``, verifies ``aud``/``iss``/``exp``/``iat`` with a
configurable leeway and RS256 only, caches platform keys, and binds the launch to the login's
state by cookie or by LTI platform storage. Nothing is written for a refused launch, except the
first sight of an unknown deployment, which is recorded for an administrator to approve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch, TJwtData
from sqlalchemy import update
from sqlalchemy.orm import Session

from plugin.core.db import affected_rows, utcnow
from plugin.lti.adapters import (
    CollectingCookieService,
    DatabaseToolConf,
    ToolRequest,
)
from plugin.lti.claims import (
    CLAIM_AGS_ENDPOINT,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEEP_LINKING_SETTINGS,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_TOOL_PLATFORM,
    CLAIM_VERSION,
    DEEP_LINKING_REQUEST,
    SUPPORTED_MESSAGE_TYPES,
    storable,
)
from plugin.lti.errors import LaunchRejected
from plugin.lti.keysets import KeySetCache
from plugin.lti.launch_records import AcceptedLaunch, record_launch
from plugin.lti.models import Deployment, LoginState, Registration
from plugin.lti.registrations import (
    activate,
    record_deployment,
    registrations_for_issuer,
    web_origin,
)

# sub and deployment_id are at most 255 characters (LTI 1.3 core §5.3.3, OIDC Core §2).
MAX_IDENTIFIER_LENGTH = 255
# lti_grade_outbox.line_item_url / line_items_url.
MAX_SERVICE_URL_LENGTH = 1000
# Claims that are JSON objects when present (LTI 1.3 core §5.3-5.4, AGS 2.0 §3.1, NRPS 2.0
# §3.6.1.1): the tool reads their members.
OBJECT_CLAIMS = (
    CLAIM_CONTEXT, CLAIM_CUSTOM, CLAIM_LAUNCH_PRESENTATION, CLAIM_RESOURCE_LINK,
    CLAIM_TOOL_PLATFORM, CLAIM_AGS_ENDPOINT, CLAIM_NRPS,
)  # fmt: skip


@dataclass(frozen=True)
class LaunchPolicy:
    """The settings a launch is judged by."""

    leeway_seconds: int = 60
    launch_lifetime: timedelta = timedelta(hours=2)
    auto_activate_deployments: bool = False
    designer_roles: tuple[str, ...] = ("Instructor", "ContentDeveloper", "TeachingAssistant")
    admin_roles: tuple[str, ...] = ("Administrator",)


class DeploymentPending(LaunchRejected):
    """A known platform's unknown deployment: recorded, and waiting for approval."""

    def __init__(self, deployment_id: str):
        super().__init__("deployment_pending", deployment_id=deployment_id)


@dataclass(frozen=True)
class StorageCheckNeeded:
    """No state cookie came back, but the platform offers storage: verify state there first."""

    state: str
    nonce: str
    storage_target: str
    platform_origin: str


class ToolMessageLaunch(MessageLaunch[ToolRequest, DatabaseToolConf, Any, Any]):
    """pylti1p3's message launch on our request, with the audience we resolved."""

    def __init__(self, request: ToolRequest, tool_conf: DatabaseToolConf):
        cookies = CollectingCookieService(request)
        super().__init__(request, tool_conf, session_service=object(), cookie_service=cookies)
        self.set_auto_validation(enable=False)
        self.resolved_client_id = ""
        self.tool_conf = tool_conf

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def get_client_id(self) -> str:
        """The audience this tool answers to (pylti1p3 would take ``aud[0]``)."""
        return self.resolved_client_id

    # pylti1p3 types the JWT as TypedDicts of what a well-behaved platform sends; here it is
    # untrusted JSON whose every claim is checked before use, so it is read as a plain mapping.
    @property
    def header(self) -> dict[str, Any]:
        """The decoded JWT header."""
        return cast(dict[str, Any], self._jwt.get("header", {}))

    @property
    def body(self) -> dict[str, Any]:
        """The decoded JWT body (verified once :func:`accept_launch` returns)."""
        return cast(dict[str, Any], self._jwt.get("body", {}))


def accept_launch(
    session: Session,
    request: ToolRequest,
    key_sets: KeySetCache,
    policy: LaunchPolicy,
) -> AcceptedLaunch | StorageCheckNeeded:
    """Validate a launch POST and record it, or raise :class:`LaunchRejected`."""
    id_token = request.get_param("id_token")
    state = request.get_param("state")
    if not id_token:
        raise LaunchRejected("missing_id_token")
    if not state:
        raise LaunchRejected("missing_state")

    launch = ToolMessageLaunch(request, DatabaseToolConf(session))
    try:
        launch.validate_jwt_format()
    except LtiException:
        raise LaunchRejected("malformed_token") from None
    if not isinstance(launch.header, dict) or not isinstance(launch.body, dict):
        raise LaunchRejected("malformed_token")
    _check_header(launch.header)
    body = launch.body
    _check_storable(body)
    issuer = _required_text(body, "iss")
    try:
        return _accept_from(session, request, launch, issuer, id_token, state, key_sets, policy)
    except LaunchRejected as exc:
        exc.params.setdefault("issuer", issuer)  # unverified, for the log line only
        raise


def _accept_from(
    session: Session,
    request: ToolRequest,
    launch: ToolMessageLaunch,
    issuer: str,
    id_token: str,
    state: str,
    key_sets: KeySetCache,
    policy: LaunchPolicy,
) -> AcceptedLaunch | StorageCheckNeeded:
    registration = _resolve_registration(session, launch, issuer)
    claims = _verify_signature(launch, id_token, registration.key_set_url, key_sets, policy)
    _check_claims(launch, claims)
    deployment = _check_deployment(session, registration, claims, policy)
    login_state = _check_state(session, request, registration, state, claims)
    if isinstance(login_state, StorageCheckNeeded):
        return login_state
    _consume_state(session, state)
    return record_launch(
        session, deployment, claims, policy.designer_roles, policy.admin_roles,
        policy.launch_lifetime,
    )  # fmt: skip


def _check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if alg != "RS256":
        # 1EdTech Security Framework §5.1.3: asymmetric RS256; refuse "none" and HMAC outright.
        raise LaunchRejected("unsupported_algorithm", alg=alg or "none")
    if not header.get("kid"):
        raise LaunchRejected("missing_kid")


def _check_storable(body: dict[str, Any]) -> None:
    """Claims the tool can look up, store and restate: checked before the issuer is looked
    up, since the database would fail on a NUL rather than find nothing."""
    for claim, value in body.items():
        if not storable(claim) or not storable(value):
            name = claim.rsplit("/", 1)[-1] if storable(claim) else "id_token"
            reason = "contains NUL, an unpaired surrogate or a number that is not finite"
            raise LaunchRejected("invalid_claim", claim=name, reason=reason)


def _required_text(body: dict[str, Any], claim: str) -> str:
    value = body.get(claim)
    if value is None or value == "":
        raise LaunchRejected("missing_claim", claim=claim)
    if not isinstance(value, str):
        raise LaunchRejected("invalid_claim", claim=claim, reason="must be a string")
    return value


def _resolve_registration(session: Session, launch: ToolMessageLaunch, issuer: str) -> Registration:
    """Pick our registration from ``aud`` (a string or a list) and ``azp``.

    LTI 1.3 core §5.1.2 / OIDC Core §3.1.3.7: the tool's client_id must be in ``aud``; when
    ``aud`` holds several audiences, ``azp`` must be present and equal the client_id.
    """
    body = launch.body
    aud = body.get("aud")
    if aud is None or aud == "" or aud == []:
        raise LaunchRejected("missing_claim", claim="aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not all(isinstance(a, str) for a in audiences):
        raise LaunchRejected("invalid_claim", claim="aud", reason="must be strings")
    azp = body.get("azp")
    rows = registrations_for_issuer(session, issuer)
    launch.tool_conf.remember(rows)
    known = {r.client_id: r for r in rows}
    if not known:
        raise LaunchRejected("unknown_platform", issuer=issuer, client_id=", ".join(audiences))
    matching = [a for a in audiences if a in known]
    if not matching:
        raise LaunchRejected("bad_audience")
    client_id: str = azp if isinstance(azp, str) and azp in matching else matching[0]
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise LaunchRejected("bad_azp", client_id=client_id)
    registration = known[client_id]
    if not registration.enabled:
        raise LaunchRejected("platform_disabled", issuer=issuer)
    launch.resolved_client_id = client_id
    try:
        launch.validate_registration()
    except LtiException:
        raise LaunchRejected("unknown_platform", issuer=issuer, client_id=client_id) from None
    return registration


def _verify_signature(
    launch: ToolMessageLaunch,
    id_token: str,
    key_set_url: str,
    key_sets: KeySetCache,
    policy: LaunchPolicy,
) -> dict[str, Any]:
    jwk = key_sets.find_key(key_set_url, str(launch.header["kid"]))
    if jwk.get("alg", "RS256") != "RS256":
        raise LaunchRejected("unsupported_algorithm", alg=str(jwk.get("alg")))
    try:
        public_key = RSAAlgorithm.from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
        raise LaunchRejected(
            "key_set_unavailable", key_set_url=key_set_url, reason="key is not an RSA JWK"
        ) from None
    try:
        return jwt.decode(
            id_token,
            public_key,  # type: ignore[arg-type]
            algorithms=["RS256"],
            audience=launch.resolved_client_id,
            issuer=launch.body["iss"],
            leeway=policy.leeway_seconds,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_sub": False},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise LaunchRejected("missing_claim", claim=exc.claim) from None
    except jwt.ExpiredSignatureError:
        raise LaunchRejected("token_expired") from None
    except jwt.ImmatureSignatureError:
        raise LaunchRejected("token_issued_in_future") from None
    except jwt.InvalidAudienceError:
        raise LaunchRejected("bad_audience") from None
    except jwt.InvalidSignatureError:
        raise LaunchRejected("bad_signature") from None
    except jwt.InvalidTokenError as exc:
        raise LaunchRejected("invalid_claim", claim="id_token", reason=str(exc)) from None


def _check_claims(launch: ToolMessageLaunch, claims: dict[str, Any]) -> None:
    """The LTI claims of LTI 1.3 core §5.3 (required message claims) and §5.4."""
    message_type = _check_message_type(claims)
    if len(_required_text(claims, "sub")) > MAX_IDENTIFIER_LENGTH:
        # OIDC Core §2 / LTI 1.3 core §5.3.6: sub is at most 255 ASCII characters.
        raise LaunchRejected("invalid_claim", claim="sub", reason="longer than 255 characters")
    _required_text(claims, "nonce")
    roles = claims.get(CLAIM_ROLES)
    if roles is None:
        raise LaunchRejected("missing_claim", claim="roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise LaunchRejected("invalid_claim", claim="roles", reason="must be a list of strings")
    _check_deployment_id(claims.get(CLAIM_DEPLOYMENT_ID))
    if message_type == "LtiResourceLinkRequest":
        _check_resource_link(claims.get(CLAIM_RESOURCE_LINK))
    if message_type == DEEP_LINKING_REQUEST:
        _check_deep_linking_settings(claims.get(CLAIM_DEEP_LINKING_SETTINGS))
    for claim in OBJECT_CLAIMS:
        if claim in claims and not isinstance(claims[claim], dict):
            reason = "must be an object"
            raise LaunchRejected("invalid_claim", claim=claim.rsplit("/", 1)[-1], reason=reason)
    _check_grade_service(claims.get(CLAIM_AGS_ENDPOINT))
    # The checked claims, in the shape pylti1p3 declares (see ToolMessageLaunch.header).
    launch.set_jwt(cast(TJwtData, {"header": launch.header, "body": claims}))
    try:
        launch.validate_message()
    except LtiException as exc:
        raise LaunchRejected("invalid_claim", claim="message", reason=str(exc)) from None


def _check_message_type(claims: dict[str, Any]) -> str:
    """The message type, once it and the version are present and ones the tool supports."""
    message_type = claims.get(CLAIM_MESSAGE_TYPE)
    if not message_type:
        raise LaunchRejected("missing_claim", claim="message_type")
    version = claims.get(CLAIM_VERSION)
    if not version:
        raise LaunchRejected("missing_claim", claim="version")
    if version != "1.3.0":
        raise LaunchRejected("wrong_version", version=version)
    if message_type not in SUPPORTED_MESSAGE_TYPES:
        raise LaunchRejected("unknown_message_type", message_type=message_type)
    return str(message_type)


def _check_deployment_id(deployment_id: Any) -> None:
    """LTI 1.3 core §5.3.3: the deployment_id claim is a non-empty string of at most 255."""
    if deployment_id is None or deployment_id == "":
        raise LaunchRejected("missing_claim", claim="deployment_id")
    if not isinstance(deployment_id, str):
        # Else str() of a number or an object would be recorded as a new deployment.
        raise LaunchRejected("invalid_claim", claim="deployment_id", reason="must be a string")
    if not deployment_id.strip() or len(deployment_id) > MAX_IDENTIFIER_LENGTH:
        reason = "must be 1 to 255 characters, not blank"
        raise LaunchRejected("invalid_claim", claim="deployment_id", reason=reason)


def _check_resource_link(link: Any) -> None:
    """LTI 1.3 core §5.3.5: a resource link launch names its link by a string id."""
    if not isinstance(link, dict) or not link.get("id"):
        raise LaunchRejected("missing_claim", claim="resource_link.id")
    if not isinstance(link["id"], str):
        reason = "id must be a string"
        raise LaunchRejected("invalid_claim", claim="resource_link", reason=reason)


def _check_grade_service(endpoint: dict[str, Any] | None) -> None:
    """LTI AGS 2.0 §3.1: ``scope`` is a list of strings, ``lineitem(s)`` are service URLs
    (the tool tests the scopes and stores the URLs, in a 1000-character column)."""
    if endpoint is None:
        return
    scopes = endpoint.get("scope", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        reason = "scope must be a list of strings"
        raise LaunchRejected("invalid_claim", claim="endpoint", reason=reason)
    for member in ("lineitem", "lineitems"):
        url = endpoint.get(member)
        if url is None or url == "":  # absent: that service is not offered
            continue
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme.lower() not in ("https", "http")
            or len(url) > MAX_SERVICE_URL_LENGTH
        ):
            reason = f"{member} must be an http(s) URL of at most {MAX_SERVICE_URL_LENGTH} chars"
            raise LaunchRejected("invalid_claim", claim="endpoint", reason=reason)


def _check_deep_linking_settings(settings: Any) -> None:
    """LTI Deep Linking 2.0 §4.4.1: the settings the response needs (pylti1p3 would fail
    with an AttributeError on a non-object, and accepts a missing return URL)."""
    if not isinstance(settings, dict):
        if settings is None:
            raise LaunchRejected("missing_claim", claim="deep_linking_settings")
        reason = "must be an object"
        raise LaunchRejected("invalid_claim", claim="deep_linking_settings", reason=reason)
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or not return_url:
        raise LaunchRejected("missing_claim", claim="deep_linking_settings.deep_link_return_url")
    if urlsplit(return_url).scheme.lower() not in ("https", "http"):
        # The response page posts a form to it: a "javascript:" URL would run in our origin.
        reason = "deep_link_return_url must be an http(s) URL"
        raise LaunchRejected("invalid_claim", claim="deep_linking_settings", reason=reason)
    for member in ("accept_types", "accept_presentation_document_targets"):
        value = settings.get(member)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            reason = f"{member} must be a list of strings"
            raise LaunchRejected("invalid_claim", claim="deep_linking_settings", reason=reason)


def _check_deployment(
    session: Session, registration: Any, claims: dict[str, Any], policy: LaunchPolicy
) -> Deployment:
    deployment_id = str(claims[CLAIM_DEPLOYMENT_ID])
    deployment = record_deployment(session, registration, deployment_id)
    if not deployment.active:
        if not policy.auto_activate_deployments:
            raise DeploymentPending(deployment_id)
        activate(deployment)
    return deployment


def _check_state(
    session: Session,
    request: ToolRequest,
    registration: Any,
    state: str,
    claims: dict[str, Any],
) -> LoginState | StorageCheckNeeded:
    """The state must be one this tool issued, unused, for this platform, with this nonce,
    and come back to the browser that started the login (cookie or platform storage)."""
    # A state with a NUL was never issued here (and PostgreSQL would fail to look it up).
    row = session.get(LoginState, state) if storable(state) else None
    if row is None or row.registration_id != registration.id:
        raise LaunchRejected("state_unknown")
    if row.used_at is not None:
        raise LaunchRejected("replayed_launch")
    if row.expires_at <= utcnow():
        # Only the browser that holds this state (and its platform) can name it, so saying
        # it expired tells nothing to anyone else (LTI 1.3 core §5.1.1.5).
        raise LaunchRejected("state_expired")
    if row.nonce != claims.get("nonce"):
        raise LaunchRejected("nonce_mismatch")
    cookie = request.cookies.get(f"lti1p3-{state}")
    if cookie is not None:
        if cookie != state:
            raise LaunchRejected("state_mismatch")
        return row
    stored = request.get_param("lti_storage_state")
    if stored:
        # The value the tool's page read back from the platform's storage (LTI Client Side
        # OIDC Launch §3.3); it must be the state this login put there.
        if stored != state:
            raise LaunchRejected("state_mismatch")
        return row
    if row.storage_target and not request.get_param("lti_storage_checked"):
        platform_origin = web_origin(registration.auth_login_url)
        if not platform_origin:
            # Client Side OIDC Launch §3: never ask "any window" for the state.
            raise LaunchRejected("platform_origin_unknown", issuer=registration.issuer)
        return StorageCheckNeeded(
            state=state,
            nonce=row.nonce,
            storage_target=row.storage_target,
            platform_origin=platform_origin,
        )
    raise LaunchRejected("state_unverified")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (a postMessage target origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _consume_state(session: Session, state: str) -> None:
    """Mark the login used, atomically: of two racing launches only one gets the row."""
    result = session.execute(
        update(LoginState)
        .where(LoginState.state == state, LoginState.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        raise LaunchRejected("replayed_launch")
