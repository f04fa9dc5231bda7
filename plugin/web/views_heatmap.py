"""Heat maps: a course's roster × indicators, and the organisation's attainment by grade.

Both pages read the stored roll-up (``rollup_attainment``) in one query and group it in
Python; neither recomputes anything nor calls the per-person report.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from plugin.competencies.coverage import compute_coverage, framework_order
from plugin.competencies.models import Framework, Grade, GradeTarget, Item
from plugin.competencies.services import get_framework
from plugin.core.errors import Forbidden, NotFound
from plugin.lti.claims import ADMINISTRATOR, DESIGNER, LEARNER, classify_roles
from plugin.lti.models import Launch
from plugin.lti.nrps import Roster, fetch_roster, memberships_url
from plugin.lti.service_tokens import ServiceCredentials, ServiceError
from plugin.organisations.audience import Audience
from plugin.rollup.engine import gap
from plugin.rollup.models import Attainment, Identity, Learner
from plugin.rollup.scope import identities_in_reach, identity_in_reach, learner_in_reach
from plugin.web.access_audit import audit_launch, course_subject
from plugin.web.audience import launch_audience
from plugin.web.course import (
    NRPS_PAGE_LIMIT,
    ROSTER_SECONDS_PER_TIMEOUT,
    key_loader,
    service_tokens,
)
from plugin.web.i18n import localized
from plugin.web.launch_context import current_launch, settings
from plugin.web.request_db import get_session

log = logging.getLogger("plugin.lti")
blueprint = Blueprint("heatmap", __name__)
HEAT_KINDS = ("knowledge", "skill", "attitude")
# The report's scale (基礎 / 中級 / 高級) has three levels; level 0 is "not yet".
DEFAULT_TOP_LEVEL = 3
SHORT = 14


@dataclass
class HeatRow:
    """One person of the course: name (if the platform shared one) and level per item."""

    name: str
    sub: str
    learner_id: int | None
    levels: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BelowTarget:
    """One person short of their grade's target for one competency."""

    learner_id: int
    identities: list[tuple[str, str, str]]  # (short issuer, short sub, full "issuer sub")
    grade: str
    competency: str
    level: int
    target: int
    gap: int


def _framework(session: Session) -> Framework:
    framework = get_framework(session)
    if framework is None:
        raise NotFound(_("No competency framework is loaded yet."), field="framework")
    return framework


def _level_names(framework: Framework) -> dict[int, str]:
    """Level number → its name on the report scale (基礎 / 中級 / 高級); 0 → "not yet"."""
    names = {0: _("not yet")}
    for scale in framework.scales:
        if scale.key == "report":
            names.update({level.number: localized(level, "name") for level in scale.levels})
    return names


def _shorten(text: str, size: int = SHORT) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _short_issuer(issuer: str) -> str:
    return urlsplit(issuer).netloc or _shorten(issuer)


def _read_roster(launch: Launch) -> tuple[bool, Roster | None, str]:
    """(NRPS offered, the roster or None, the problem when it could not be read)."""
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
            max_pages=settings().lti.nrps_max_pages,
            max_seconds=ROSTER_SECONDS_PER_TIMEOUT * settings().lti.http_timeout_seconds,
        )
    except ServiceError as exc:
        log.warning("heat map roster of %s not read: %s", registration.issuer, exc.message)
        return True, None, exc.message
    return True, roster, ""


def _heat_rows(session: Session, launch: Launch, roster: Roster | None) -> list[HeatRow]:
    """Roster learners (or, without a roster, the learners with attainment the launch
    reaches) with their levels, from one query on identities joined to attainment.

    Levels and learner ids come only for people the launch reaches (plugin.rollup.scope):
    a designer's own registration, an administrator's organisation. A roster is the
    platform's word, and a platform may list anyone, even another registration's learners of
    the same issuer; those stay names without levels.
    """
    issuer = launch.person.issuer
    in_reach = identity_in_reach(launch_audience(launch))
    query = select(Identity.sub, Identity.learner_id, Attainment.item_id, Attainment.level)
    rows: dict[str, HeatRow] = {}
    if roster is not None:
        lti = settings().lti
        for member in roster.members:
            if classify_roles(member.roles, lti.designer_roles, lti.admin_roles) != LEARNER:
                continue
            name = member.name or " ".join(
                part for part in (member.given_name, member.family_name) if part
            )
            rows.setdefault(member.user_id, HeatRow(name, member.user_id, None))
        if not rows:
            return []
        query = query.select_from(Identity).outerjoin(
            Attainment, Attainment.learner_id == Identity.learner_id
        )
        query = query.where(Identity.issuer == issuer, Identity.sub.in_(list(rows)), in_reach)
    else:
        query = query.select_from(Identity).join(
            Attainment, Attainment.learner_id == Identity.learner_id
        )
        query = query.where(in_reach).order_by(Identity.learner_id)
    for sub, learner_id, item_id, level in session.execute(query):
        row = rows.setdefault(sub, HeatRow("", sub, learner_id))
        row.learner_id = learner_id
        if item_id is not None:
            row.levels[item_id] = level
    return list(rows.values())


@blueprint.get("/lti/course/heatmap")
def course_heatmap() -> str:
    """The course's learners × indicators and attitudes, levels as text and shade."""
    launch = current_launch()
    assert launch is not None
    if launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers and administrators can see the heat map."))
    session = get_session()
    framework = _framework(session)
    columns = [item for item in framework_order(framework) if item.kind in HEAT_KINDS]
    offered, roster, problem = _read_roster(launch)
    rows = _heat_rows(session, launch, roster)
    audit_launch(launch, "heatmap.view", course_subject(launch, len(rows)))
    levels = _level_names(framework)
    top = max(levels) if len(levels) > 1 else DEFAULT_TOP_LEVEL
    counts = {
        item.code: [
            sum(1 for row in rows if row.levels.get(item.code, 0) >= number)
            for number in range(1, top + 1)
        ]
        for item in columns
    }
    groups: list[tuple[Item | None, int]] = []
    for item in columns:
        parent = item.parent if item.kind != "attitude" else None
        if groups and groups[-1][0] is parent:
            groups[-1] = (parent, groups[-1][1] + 1)
        else:
            groups.append((parent, 1))
    return render_template(
        "heatmap/course.html",
        launch=launch,
        title=launch.context_title or (roster.context_title if roster else ""),
        offered=offered,
        roster=roster,
        problem=problem,
        rows=rows,
        columns=columns,
        groups=groups,
        counts=counts,
        levels=levels,
        top=top,
    )


@dataclass
class OrganisationData:
    """The organisation view's numbers: distribution by grade and the people below target."""

    framework: Framework
    competencies: list[Item]
    grades: list[Grade]
    columns: list[str]
    distribution: dict[str, dict[str, list[int]]]
    targets: dict[tuple[str, str], int]
    shortfalls: list[BelowTarget]
    levels: dict[int, str]
    top: int
    people: int


def organisation_data(session: Session, audience: Audience) -> OrganisationData:
    """Attainment per competency by grade and the people below target (one attainment query),
    of the people ``audience`` reaches (an administrator: the organisation's)."""
    framework = _framework(session)
    competencies = [item for item in framework.items if item.kind == "competency"]
    codes = [item.code for item in competencies]
    grades: list[Grade] = list(framework.grades)
    grade_keys = [grade.key for grade in grades]
    levels = _level_names(framework)
    top = max(levels) if len(levels) > 1 else DEFAULT_TOP_LEVEL
    targets: dict[tuple[str, str], int] = {
        (key, code): level
        for key, code, level in session.execute(
            select(Grade.key, Item.code, GradeTarget.level)
            .join(Grade, GradeTarget.grade_id == Grade.id)
            .join(Item, GradeTarget.item_id == Item.id)
            .where(Grade.framework_id == framework.id, Item.kind == "competency")
        )
    }
    # One query: every learner with their competency levels (none stored → level 0).
    people: dict[int, tuple[str, dict[str, int]]] = {}
    for learner_id, grade, item_id, level in session.execute(
        select(Learner.id, Learner.grade, Attainment.item_id, Attainment.level)
        .outerjoin(
            Attainment,
            and_(Attainment.learner_id == Learner.id, Attainment.item_id.in_(codes)),
        )
        .where(learner_in_reach(audience))
        .order_by(Learner.id)
    ):
        entry = people.setdefault(learner_id, (grade if grade in grade_keys else "", {}))
        if item_id is not None:
            entry[1][item_id] = level
    columns = [*grade_keys, ""]
    distribution: dict[str, dict[str, list[int]]] = {
        code: {key: [0] * (top + 1) for key in columns} for code in codes
    }
    below: list[tuple[int, str, str, int, int]] = []
    for learner_id, (grade, reached) in people.items():
        for code in codes:
            level = min(max(reached.get(code, 0), 0), top)
            distribution[code][grade][level] += 1
            target = targets.get((grade, code)) if grade else None
            if target is not None and level < target:
                below.append((learner_id, grade, code, level, target))
    identities: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    # Only identities in reach: a learner linked across organisations keeps the others'.
    reached = identities_in_reach(session, audience, {row[0] for row in below})
    for learner_id, rows in reached.items():
        identities[learner_id] = [
            (_short_issuer(row.issuer), _shorten(row.sub), f"{row.issuer} {row.sub}")
            for row in rows
        ]
    shortfalls = [
        BelowTarget(learner_id, identities[learner_id], grade, code, level, target,
                    gap(target, level))
        for learner_id, grade, code, level, target in below
    ]  # fmt: skip
    shortfalls.sort(key=lambda row: (-row.gap, row.competency, row.learner_id))
    return OrganisationData(
        framework=framework,
        competencies=competencies,
        grades=grades,
        columns=columns,
        distribution=distribution,
        targets=targets,
        shortfalls=shortfalls,
        levels=levels,
        top=top,
        people=len(people),
    )


@blueprint.get("/lti/organisation")
def organisation() -> str:
    """Attainment per competency by grade, the people below target, and catalog coverage."""
    launch = current_launch()
    assert launch is not None
    if launch.role != ADMINISTRATOR:
        raise Forbidden(_("Only administrators can see the organisation view."))
    session = get_session()
    audience = launch_audience(launch)
    data = organisation_data(session, audience)
    audit_launch(launch, "organisation.view", f"organisation {data.people} people")
    return render_template(
        "heatmap/organisation.html",
        launch=launch,
        competencies=data.competencies,
        grades=data.grades,
        grade_columns=data.columns,
        distribution=data.distribution,
        targets=data.targets,
        shortfalls=data.shortfalls,
        coverage=compute_coverage(session, data.framework, audience),
        levels=data.levels,
        top=data.top,
        people=data.people,
    )
