"""Platform registrations and their deployments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Select, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.core.errors import InvalidInput, NotFound
from plugin.core.urls import UrlRefused, parse_http_url
from plugin.lti.errors import RegistrationError
from plugin.lti.models import Deployment, Launch, Person, Registration
from plugin.organisations.models import Organisation
from plugin.organisations.services import default_organisation


@dataclass(frozen=True)
class PlatformDetails:
    """What the tool must know of a platform to accept its launches."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    name: str = ""
    auth_audience: str = ""
    frame_origins: tuple[str, ...] = ()


URL_FIELDS = ("issuer", "auth_login_url", "auth_token_url", "key_set_url")


def check_details(details: PlatformDetails) -> None:
    """Refuse empty IDs and URLs that are not http(s), naming the field."""
    for field in ("issuer", "client_id"):
        if not getattr(details, field).strip():
            raise InvalidInput(f"{field} must not be empty", field=field)
    for field in URL_FIELDS:
        value = getattr(details, field)
        try:
            parse_http_url(value)
        except UrlRefused as exc:
            raise InvalidInput(
                f"{field} must be an http(s) URL without user info or fragment, got {value!r}: "
                f"{exc}",
                field=field,
            ) from None
    for value in details.frame_origins:
        check_origin(value, "frame_origins")


def check_origin(value: str, field: str) -> str:
    """``value`` if it is a bare http(s) origin (no path, query or user), else InvalidInput."""
    parts = urlsplit(value)
    bare = not (parts.path or parts.query or parts.fragment or "@" in parts.netloc)
    hostname_ok = bool(parts.netloc) and all(
        character.isalnum() or character in ".-:[]" for character in parts.netloc
    )
    if parts.scheme not in ("https", "http") or not hostname_ok or not bare:
        raise InvalidInput(
            f"{field} must be origins like https://lms.example.org, got {value!r}", field=field
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def framing_origins(registration: Registration) -> set[str]:
    """Origins allowed to frame the tool for this platform: its issuer's, login URL's, extras."""
    origins = {web_origin(registration.issuer), web_origin(registration.auth_login_url)}
    origins.update(registration.frame_origins.split())
    origins.discard("")
    return origins


def all_framing_origins(session: Session) -> list[str]:
    """The framing origins of every enabled registration, sorted (CSP frame-ancestors)."""
    rows = session.execute(
        select(Registration.issuer, Registration.auth_login_url, Registration.frame_origins).where(
            Registration.enabled.is_(True)
        )
    )
    origins: set[str] = set()
    for issuer, login_url, extra in rows:
        origins.update({web_origin(issuer), web_origin(login_url), *extra.split()})
    origins.discard("")
    return sorted(origins)


def web_origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased; "" when it has none."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


def create_registration(
    session: Session,
    details: PlatformDetails,
    deployment_ids: Iterable[str] = (),
    *,
    origin: str = "manual",
    organisation: Organisation | None = None,
) -> Registration:
    """A new registration of (issuer, client_id), its listed deployments active.

    Never changes an existing registration or deployment: a registration of the same
    (issuer, client_id) is refused with ``registration_exists`` (dynamic registration must not
    take over a platform an administrator registered; docs/ARCHITECTURE.md §9). A new one joins
    ``organisation`` (default: the default organisation).
    """
    check_details(details)
    if find_registration(session, details.issuer, details.client_id) is not None:
        raise _exists(details)
    owner = organisation or default_organisation(session)
    registration = Registration(
        issuer=details.issuer, client_id=details.client_id, organisation_id=owner.id
    )
    _describe(registration, details, origin)
    session.add(registration)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent registration of the same pair won; the caller rolls back.
        raise _exists(details) from None
    _activate_all(session, registration, deployment_ids)
    return registration


def register_platform(
    session: Session,
    details: PlatformDetails,
    deployment_ids: Iterable[str] = (),
    *,
    origin: str = "manual",
    organisation: Organisation | None = None,
) -> Registration:
    """The operator's create-or-update (CLI ``platform add``, sandbox): listed deployments active.

    Unlike :func:`create_registration`, an existing registration of (issuer, client_id) takes
    the new URLs and name and is enabled again; it moves only when ``organisation`` is given.
    Only an operator's command may do this, never a request from the web.
    """
    check_details(details)
    registration = find_registration(session, details.issuer, details.client_id)
    if registration is None:
        return create_registration(
            session, details, deployment_ids, origin=origin, organisation=organisation
        )
    if organisation is not None:
        registration.organisation_id = organisation.id
    _describe(registration, details, origin)
    session.flush()
    _activate_all(session, registration, deployment_ids)
    return registration


def _describe(registration: Registration, details: PlatformDetails, origin: str) -> None:
    """Copy the platform's name, URLs and framing origins onto the registration; enable it."""
    registration.name = details.name or registration.name or details.issuer
    registration.auth_login_url = details.auth_login_url
    registration.auth_token_url = details.auth_token_url
    registration.auth_audience = details.auth_audience
    registration.key_set_url = details.key_set_url
    if details.frame_origins:
        registration.frame_origins = " ".join(
            sorted({check_origin(value, "frame_origins") for value in details.frame_origins})
        )
    registration.origin = origin
    registration.enabled = True


def _activate_all(
    session: Session, registration: Registration, deployment_ids: Iterable[str]
) -> None:
    for deployment_id in deployment_ids:
        deployment = record_deployment(session, registration, deployment_id)
        activate(deployment)
    session.flush()


def _exists(details: PlatformDetails) -> RegistrationError:
    return RegistrationError.coded(
        "registration_exists",
        field="client_id",
        issuer=details.issuer,
        client_id=details.client_id,
    )


def find_registration(session: Session, issuer: str, client_id: str) -> Registration | None:
    """The registration of (issuer, client_id)."""
    return session.scalars(
        select(Registration).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    ).one_or_none()


def registrations_for_issuer(session: Session, issuer: str) -> list[Registration]:
    """Every registration of an issuer (Canvas has one per developer key)."""
    return list(
        session.scalars(
            select(Registration).where(Registration.issuer == issuer).order_by(Registration.id)
        )
    )


def list_registrations(session: Session) -> list[Registration]:
    """Every registration, oldest first."""
    return list(session.scalars(select(Registration).order_by(Registration.id)))


def find_deployment(
    session: Session, registration: Registration, deployment_id: str
) -> Deployment | None:
    """The deployment of a registration with the platform's ``deployment_id``."""
    return session.scalars(
        select(Deployment).where(
            Deployment.registration_id == registration.id,
            Deployment.deployment_id == deployment_id,
        )
    ).one_or_none()


def record_deployment(
    session: Session, registration: Registration, deployment_id: str
) -> Deployment:
    """The deployment, recorded as inactive when first seen."""
    if not deployment_id.strip():
        raise InvalidInput("deployment_id must not be empty", field="deployment_id")
    deployment = find_deployment(session, registration, deployment_id)
    if deployment is None:
        deployment = Deployment(
            registration_id=registration.id, deployment_id=deployment_id, active=False
        )
        session.add(deployment)
        session.flush()
    return deployment


def activate(deployment: Deployment) -> None:
    """Let launches from this deployment in."""
    if not deployment.active:
        deployment.active = True
        deployment.activated_at = utcnow()


def activate_deployment(
    session: Session, issuer: str, deployment_id: str, client_id: str | None = None
) -> Deployment:
    """Activate a recorded deployment, found by issuer (and client_id when ambiguous)."""
    candidates = [
        deployment
        for registration in registrations_for_issuer(session, issuer)
        if client_id is None or registration.client_id == client_id
        for deployment in registration.deployments
        if deployment.deployment_id == deployment_id
    ]
    if not candidates:
        raise NotFound(
            f"no deployment {deployment_id!r} of issuer {issuer!r}", field="deployment_id"
        )
    if len(candidates) > 1:
        raise InvalidInput(
            f"deployment {deployment_id!r} exists under several client_ids; give --client-id",
            field="client_id",
        )
    activate(candidates[0])
    return candidates[0]


def chosen_registrations(
    session: Session, issuer: str, client_id: str | None = None
) -> list[Registration]:
    """The issuer's registrations (or its one with ``client_id``); NotFound when none."""
    registrations = [
        registration
        for registration in registrations_for_issuer(session, issuer)
        if client_id is None or registration.client_id == client_id
    ]
    if not registrations:
        raise NotFound(f"no registration of issuer {issuer!r}", field="issuer")
    return registrations


def disable_platform(session: Session, issuer: str, client_id: str | None = None) -> int:
    """Disable the issuer's registrations (or one client_id); returns how many."""
    registrations = chosen_registrations(session, issuer, client_id)
    for registration in registrations:
        registration.enabled = False
    return len(registrations)


def launched_through(registration_id: int) -> Select[str, str]:
    """(issuer, sub) of everyone who launched through one of the registration's deployments.

    One issuer can stand for many institutions (every Canvas cloud school launches as
    https://canvas.instructure.com, each with its own developer key, i.e. registration), so the
    registration, not the issuer, says whose learners a course designer may see.
    """
    return (
        select(Person.issuer, Person.sub)
        .join(Launch, Launch.person_id == Person.id)
        .join(Deployment, Deployment.id == Launch.deployment_id)
        .where(Deployment.registration_id == registration_id)
    )


def launched_through_organisation(organisation_id: int) -> Select[str, str]:
    """(issuer, sub) of everyone who launched through any registration of the organisation."""
    return (
        select(Person.issuer, Person.sub)
        .join(Launch, Launch.person_id == Person.id)
        .join(Deployment, Deployment.id == Launch.deployment_id)
        .join(Registration, Registration.id == Deployment.registration_id)
        .where(Registration.organisation_id == organisation_id)
    )


def assign_registrations(
    session: Session, organisation: Organisation, issuer: str, client_id: str | None = None
) -> list[Registration]:
    """Move the issuer's registrations (or one client_id) into ``organisation``."""
    registrations = chosen_registrations(session, issuer, client_id)
    for registration in registrations:
        registration.organisation_id = organisation.id
    session.flush()
    return registrations


def has_launched_through(
    session: Session, identities: Iterable[tuple[str, str]], registration_id: int
) -> bool:
    """True when any of the (issuer, sub) identities launched through the registration."""
    pairs = list(identities)
    if not pairs:
        return False
    query = launched_through(registration_id).where(tuple_(Person.issuer, Person.sub).in_(pairs))
    return session.execute(query.limit(1)).first() is not None
