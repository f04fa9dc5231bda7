"""The audience of a request (plugin.organisations.audience), built once from its launch or
API token, and the catalog look-ups the designer pages share, refused in the page's language."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from plugin.competencies.models import Module
from plugin.competencies.modules import find_module
from plugin.core.errors import Forbidden, NotFound
from plugin.lti.claims import ADMINISTRATOR
from plugin.lti.models import Launch
from plugin.organisations.audience import Audience

READ_ONLY = "module_read_only"


def launch_audience(launch: Launch) -> Audience:
    """An administrator's launch reaches the organisation; any other the people of its own
    registration. Both read the organisation's modules and the national catalog."""
    registration = launch.deployment.registration
    if launch.role == ADMINISTRATOR:
        return Audience.organisation(registration.organisation_id)
    return Audience.registration(registration.organisation_id, registration.id)


def token_audience(organisation_id: int | None) -> Audience:
    """An API token of an organisation reaches that organisation; the operator's, everything."""
    if organisation_id is None:
        return Audience.operator()
    return Audience.organisation(organisation_id)


def readable_module(session: Session, key: str, audience: Audience) -> Module:
    """The module ``key`` if the audience reads it; another organisation's is "no such
    module" (404), exactly like an unknown key."""
    try:
        return find_module(session, key, audience)
    except NotFound:
        raise NotFound(_("No such module: %(key)s", key=key), field="module") from None


def editable_module(session: Session, key: str, audience: Audience) -> Module:
    """The module ``key`` if the audience may change it (content, check, tags); the national
    catalog's is refused (403), another organisation's is not found (404)."""
    module = readable_module(session, key, audience)
    refuse_read_only(module, audience)
    return module


def refuse_read_only(module: Module, audience: Audience) -> None:
    """403 unless ``audience`` owns ``module``: the national catalog is read-only here."""
    if not audience.owns(module.organisation_id):
        raise Forbidden(
            _(
                "Modules of the national catalog cannot be changed here. Copy the module into "
                "your organisation's catalog and change the copy."
            ),
            field="module",
            code=READ_ONLY,
        )
