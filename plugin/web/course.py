"""The designer's course page: who is in the LMS course (NRPS 2.0) and the grade queue."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext as _

from plugin import app_state
from plugin.core.errors import Forbidden, NotFound
from plugin.lti.claims import ADMINISTRATOR, DESIGNER, classify_roles
from plugin.lti.grade_outbox import queue_counts
from plugin.lti.keys import SigningKey, signing_key
from plugin.lti.models import Launch
from plugin.lti.nrps import Member, Roster, fetch_roster, memberships_url
from plugin.lti.service_tokens import (
    KeyLoader,
    ServiceCredentials,
    ServiceError,
    ServiceTokens,
    ensure_service_tokens,
)
from plugin.web.inputs import MAX_PAGE, parse_int
from plugin.web.lti import current_launch

log = logging.getLogger("plugin.lti")
blueprint = Blueprint("course", __name__)
PAGE_SIZE = 25
# Members asked for per NRPS page (NRPS 2.0 §2.4.2 limit); the platform may send fewer.
NRPS_PAGE_LIMIT = 100
# A page waits for the platform's list at most this many request timeouts (then shows what
# it has, saying the list is incomplete).
ROSTER_SECONDS_PER_TIMEOUT = 3


@dataclass(frozen=True)
class MemberRow:
    """One line of the members table: what a designer needs, nothing more."""

    name: str
    role: str  # learner | designer | administrator
    status: str  # Active | Inactive | Deleted (NRPS 2.0 §2.2)
    is_you: bool


def service_tokens() -> ServiceTokens:
    """The app's LTI service tokens (shared with the grade worker)."""
    return ensure_service_tokens(
        current_app.extensions, app_state.settings().lti.http_timeout_seconds
    )


def key_loader() -> KeyLoader:
    """The tool's signing key, read in a session of its own (committed at once), so that no
    write of this request is pending while the platform calls back for the tool's JWKS."""
    secret = app_state.settings().secret_key
    database = app_state.database()

    def load() -> SigningKey:
        with database.session_scope() as session:
            return signing_key(session, secret)

    return load


def read_roster(
    launch: Launch, purpose: str = "heat map roster"
) -> tuple[bool, Roster | None, str]:
    """The course's roster from the platform (NRPS 2.0): (offered, the roster or None, the
    problem when it could not be read); ``purpose`` names the reading in the log."""
    url = memberships_url(launch.claims)
    if url is None:
        return False, None, ""
    registration = launch.deployment.registration
    try:
        roster = fetch_roster(
            service_tokens(),
            ServiceCredentials.of(registration),
            key_loader(),
            url,
            limit=NRPS_PAGE_LIMIT,
            max_pages=app_state.settings().lti.nrps_max_pages,
            max_seconds=ROSTER_SECONDS_PER_TIMEOUT * app_state.settings().lti.http_timeout_seconds,
        )
    except ServiceError as exc:
        log.warning("%s of %s not read: %s", purpose, registration.issuer, exc.message)
        return True, None, exc.message
    return True, roster, ""


def staff_launch(refusal: str) -> Launch:
    """The current launch if a course designer or administrator made it, else Forbidden."""
    launch = current_launch()
    assert launch is not None
    if launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(refusal)
    return launch


def roster_fields(launch: Launch, purpose: str) -> dict[str, Any]:
    """The roster as the course's pages show it: the course title, whether the platform offers
    a member list, the roster and the problem reading it (see ``read_roster``)."""
    offered, roster, problem = read_roster(launch, purpose)
    title = launch.context_title or (roster.context_title if roster else "")
    return {"title": title, "offered": offered, "roster": roster, "problem": problem}


def _page_number() -> int:
    return parse_int(request.args.get("page", "1"), "page", minimum=1, maximum=MAX_PAGE)


def _member_row(member: Member, you: str) -> MemberRow:
    lti = app_state.settings().lti
    name = member.name or " ".join(n for n in (member.given_name, member.family_name) if n)
    return MemberRow(
        name=name,
        role=classify_roles(member.roles, lti.designer_roles, lti.admin_roles),
        status=member.status,
        is_you=member.user_id == you,
    )


@blueprint.get("/lti/course")
def course_page() -> str:
    """The launch's course: its members from the platform, paged, and the grade queue."""
    launch = staff_launch(_("Only course designers and administrators can see the course members."))
    page = _page_number()
    registration = launch.deployment.registration
    grades = queue_counts(app_state.session(), registration.id)
    roster = roster_fields(launch, "course members")
    you = launch.person.sub
    members = [_member_row(m, you) for m in roster["roster"].members] if roster["roster"] else []
    pages = max(1, math.ceil(len(members) / PAGE_SIZE))
    if page > pages:
        raise NotFound(_("There is no page %(page)s of the members.", page=page), field="page")
    shown = members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render_template(
        "course/course.html",
        launch=launch,
        **roster,
        members=shown,
        total=len(members),
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=pages,
        grades=grades,
    )


def init_app(app: Flask) -> None:
    """The service-token cache (shared with the grade worker), then the route."""
    timeout = app_state.settings(app).lti.http_timeout_seconds
    ensure_service_tokens(app.extensions, timeout)
    app.register_blueprint(blueprint)
