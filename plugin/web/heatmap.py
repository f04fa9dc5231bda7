"""Heat maps: a course's roster × indicators, and the organisation's attainment by grade.

The views read the launch and its audience, call the builders in plugin.rollup.reports and
render; reading the roster from the platform (NRPS) is plugin.web.course's ``roster_fields``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.competencies.coverage import compute_coverage, framework_order
from plugin.competencies.models import Framework, Item
from plugin.core.errors import Forbidden
from plugin.lti.claims import ADMINISTRATOR
from plugin.lti.models import Launch
from plugin.lti.nrps import Roster
from plugin.rollup.people import person_labels, platform_names
from plugin.rollup.reports import (
    HEAT_KINDS,
    HeatRow,
    heat_counts,
    heat_rows,
    organisation_data,
    top_level,
)
from plugin.web.access_audit import audit_launch, course_subject
from plugin.web.audience import launch_audience
from plugin.web.course import roster_fields, staff_launch
from plugin.web.i18n import localized
from plugin.web.loaded_framework import framework_or_404
from plugin.web.lti import current_launch, launch_url_for

blueprint = Blueprint("heatmap", __name__)
# The query argument naming the competencies whose indicators are shown: codes joined by commas,
# or "all". One argument (not repeated ones), so that the language links keep it.
OPEN_PARAM = "open"


@dataclass(frozen=True)
class HeatGroup:
    """A competency's columns (its own level, then its indicators when open), or the attitudes;
    ``toggle`` is the address of this page with the group opened or closed."""

    parent: Item | None
    columns: list[Item]
    hidden: int
    is_open: bool
    toggle: str


def _opened(codes: list[str]) -> set[str]:
    """The competencies the request asks to show open (unknown codes are ignored)."""
    asked = {part.strip() for part in request.args.get(OPEN_PARAM, "").split(",")}
    return set(codes) if "all" in asked else asked & set(codes)


def heat_groups(framework: Framework, opened: set[str]) -> list[HeatGroup]:
    """The heat map's column groups in framework order: each competency with its level column
    and, when open, its indicators; then the attitudes, always shown."""
    groups: list[HeatGroup] = []
    attitudes: list[Item] = []
    ordered = framework_order(framework)
    for item in ordered:
        if item.kind == "competency":
            indicators = [
                child
                for child in ordered
                if child.parent_id == item.id and child.kind in HEAT_KINDS
            ]
            is_open = item.code in opened
            others = opened ^ {item.code}
            toggle = launch_url_for(
                "heatmap.course_heatmap", **{OPEN_PARAM: ",".join(sorted(others)) or None}
            )
            groups.append(
                HeatGroup(
                    item,
                    [item, *indicators] if is_open else [item],
                    0 if is_open else len(indicators),
                    is_open,
                    toggle,
                )
            )
        elif item.kind == "attitude":
            attitudes.append(item)
    if attitudes:
        groups.append(HeatGroup(None, attitudes, 0, True, ""))
    return groups


def _level_names(framework: Framework) -> dict[int, str]:
    """Level number → its name on the report scale (基礎 / 中級 / 高級); 0 → "not yet"."""
    names = {0: _("not yet")}
    for scale in framework.scales:
        if scale.key == "report":
            names.update({level.number: localized(level, "name") for level in scale.levels})
    return names


def launch_heat_rows(session: Session, launch: Launch, roster: Roster | None) -> list[HeatRow]:
    """The course heat map's rows for ``launch``: the people its audience reaches, the
    roster's learners by the configured LTI roles."""
    lti = app_state.settings().lti
    return heat_rows(
        session,
        launch.person.issuer,
        launch_audience(launch),
        roster,
        designer_roles=lti.designer_roles,
        admin_roles=lti.admin_roles,
    )


@blueprint.get("/lti/course/heatmap")
def course_heatmap() -> str:
    """The course's learners × indicators and attitudes, levels as text and shade."""
    launch = staff_launch(_("Only course designers and administrators can see the heat map."))
    session = app_state.session()
    framework = framework_or_404(session)
    competencies = [item.code for item in framework.items if item.kind == "competency"]
    opened = _opened(competencies)
    groups = heat_groups(framework, opened)
    columns = [item for group in groups for item in group.columns]
    roster = roster_fields(launch, "heat map roster")
    rows = launch_heat_rows(session, launch, roster["roster"])
    audit_launch(launch, "heatmap.view", course_subject(launch, len(rows)))
    top = top_level(framework)
    known = [row.learner_id for row in rows if row.learner_id is not None]
    return render_template(
        "heatmap/course.html",
        launch=launch,
        **roster,
        rows=rows,
        labels=person_labels(session, launch_audience(launch), known),
        platform=platform_names(session, launch_audience(launch), [launch.person.issuer])[
            launch.person.issuer
        ],
        columns=columns,
        groups=groups,
        all_open=set(competencies) <= opened,
        open_all=launch_url_for("heatmap.course_heatmap", **{OPEN_PARAM: "all"}),
        close_all=launch_url_for("heatmap.course_heatmap"),
        named=[
            item
            for item in framework_order(framework)
            if item.kind == "competency" or item.kind in HEAT_KINDS
        ],
        counts=heat_counts(rows, columns, top),
        levels=_level_names(framework),
        top=top,
    )


@blueprint.get("/lti/organisation")
def organisation() -> str:
    """Attainment per competency by grade, the people below target, and catalog coverage."""
    launch = current_launch()
    assert launch is not None
    if launch.role != ADMINISTRATOR:
        raise Forbidden(_("Only administrators can see the organisation view."))
    session = app_state.session()
    audience = launch_audience(launch)
    data = organisation_data(session, framework_or_404(session), audience)
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
        labels=person_labels(session, audience, {row.learner_id for row in data.shortfalls}),
        coverage=compute_coverage(session, data.framework, audience),
        levels=_level_names(data.framework),
        top=data.top,
        people=data.people,
    )
