"""The learner's competency map: a radar of DC1–DC5 (progress, attained level, target), per
competency how many indicators reached each level, the items with their evidence, and catalog
modules not yet finished suggested for the largest gaps (docs/ARCHITECTURE.md §1, §6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.attainment import finished_modules
from plugin.competencies.coverage import framework_order, module_grades
from plugin.competencies.framework import get_framework
from plugin.competencies.models import Framework, Item, Module
from plugin.competencies.modules import readable_by
from plugin.core.errors import Forbidden, NotFound
from plugin.lti.claims import ADMINISTRATOR, CLAIM_LAUNCH_PRESENTATION, DESIGNER
from plugin.lti.models import Launch
from plugin.organisations.audience import Audience
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import evidence_for
from plugin.rollup.learners import find_learner, learner_name
from plugin.rollup.models import Evidence, Learner
from plugin.rollup.reports import attainment_report
from plugin.rollup.scope import find_learner_in_reach
from plugin.web.access_audit import audit_learner
from plugin.web.audience import launch_audience
from plugin.web.i18n import localized
from plugin.web.inputs import parse_int
from plugin.web.lti import current_launch
from plugin.web.radar import Radar, RadarAxis, radar_chart
from plugin.web.rollup_explained import explain_rollup

blueprint = Blueprint("competency_map", __name__)
MAX_SUGGESTIONS = 5
MAX_SUGGESTED_COMPETENCIES = 2
REPORT_SCALE = "report"


@dataclass
class EvidenceRow:
    """One piece of evidence as the page shows it."""

    module_title: str
    module_key: str
    observed: str
    score: str
    source_kind: str
    source_id: str
    level_name: str


@dataclass
class ItemRow:
    """An indicator or attitude (or a competency heading) with its attainment."""

    code: str
    name: str
    kind: str
    level: int
    level_name: str
    value: str
    target: int | None = None
    evidence: list[EvidenceRow] = field(default_factory=list)


@dataclass
class CompetencyGroup:
    """A competency, its attainment against the target, and its indicators."""

    row: ItemRow
    gap: int | None
    indicators: list[ItemRow] = field(default_factory=list)
    # Per level of the scale (its name): how many indicators are at that level or above.
    reached: list[tuple[str, int]] = field(default_factory=list)
    # The mean indicator level: progress toward the next level before the competency moves.
    mean: float = 0.0

    @property
    def mean_text(self) -> str:
        """The mean indicator level with one decimal."""
        return f"{self.mean:.1f}"

    @property
    def shortfall(self) -> int:
        """Levels the indicators lack in all to reach the target (0 without a target)."""
        target = self.row.target
        if target is None:
            return 0
        return sum(max(0, target - row.level) for row in self.indicators)


@dataclass
class Suggestion:
    """A catalog module that builds indicators of a competency with a gap."""

    title: str
    hours: str
    builds: list[tuple[str, str]]
    for_grade: bool


@dataclass
class GapSuggestions:
    """The modules suggested for one competency's gap."""

    competency: ItemRow
    gap: int
    target_name: str
    modules: list[Suggestion]


def _level_names(framework: Framework) -> dict[int, str]:
    names = {0: _("Not yet Foundation")}
    for scale in framework.scales:
        if scale.key == REPORT_SCALE:
            names.update({level.number: localized(level, "name") for level in scale.levels})
    return names


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _hours(value: float) -> str:
    return f"{value:g}"


def _source_kind(kind: str) -> str:
    labels = {
        "statement": _("xAPI statement"),
        "import": _("Imported record"),
        "pull": _("Statement from the learning record store"),
    }
    return labels.get(kind, kind)


def _evidence_rows(
    evidence: list[Evidence], trail: list[str], modules: dict[str, Module], names: dict[int, str]
) -> list[EvidenceRow]:
    chosen = [e for e in evidence if e.source_id in set(trail)] or evidence
    rows = []
    for e in reversed(chosen):  # newest first
        module = modules.get(e.module_key) if e.module_key else None
        rows.append(
            EvidenceRow(
                module_title=localized(module, "title") if module is not None else "",
                module_key=e.module_key,
                observed=format_datetime(e.observed_at, "yyyy-MM-dd HH:mm"),
                score=_percent(e.score),
                source_kind=_source_kind(e.source_kind),
                source_id=e.source_id,
                level_name=names.get(e.level, str(e.level)),
            )
        )
    return rows


def _empty_report(framework: Framework) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"id": item.code, "kind": item.kind, "value": None, "level": 0, "evidence": []}
        for item in framework.items
    ]
    competencies = [
        {"id": item.code, "level": 0, "target": None, "gap": None}
        for item in framework.items
        if item.kind == "competency"
    ]
    return {"person": {"grade": None}, "items": items, "competencies": competencies}


def rank_modules(
    modules: Sequence[Module],
    short: Mapping[str, int],
    target: int,
    for_grade: Callable[[Module], bool],
) -> list[tuple[Module, list[Item], bool]]:
    """The modules that raise an item of ``short`` (code → present level) toward ``target``,
    as (module, the items it raises, designed for other grades), those closing the most
    levels first, then those for the learner's grade, the shorter, by key.

    A tag raises an item only when it teaches above the item's present level: passing a
    module at 基礎 cannot move an indicator already at 基礎 toward 中級."""
    ranked = []
    for module in modules:
        tags = [
            tag
            for tag in module.active_tags
            if tag.item.code in short and tag.level > short[tag.item.code]
        ]
        if tags:
            closes = sum(min(tag.level, target) - short[tag.item.code] for tag in tags)
            other_grade = not for_grade(module)
            ranked.append((-closes, other_grade, module.hours, module.key, tags, module))
    ranked.sort(key=lambda entry: entry[:4])
    return [
        (module, [tag.item for tag in tags], other) for _c, other, _h, _k, tags, module in ranked
    ]


def _suggestions(
    session: Session,
    audience: Audience,
    groups: list[CompetencyGroup],
    grade: str,
    all_grades: tuple[str, ...],
    names: dict[int, str],
    finished: set[str],
) -> list[GapSuggestions]:
    # The largest gaps first: levels the competency lacks, then levels its indicators lack.
    with_gap = sorted(
        (group for group in groups if group.gap),
        key=lambda group: (-(group.gap or 0), -group.shortfall),
    )[:MAX_SUGGESTED_COMPETENCIES]
    if not with_gap:
        return []
    # Suggested from the catalog the viewer's organisation places (its own and the national),
    # leaving out what the learner has already finished.
    modules = [
        module
        for module in session.scalars(
            select(Module).where(readable_by(audience)).order_by(Module.key)
        )
        if module.key not in finished
    ]
    found = []
    for group in with_gap:
        target = group.row.target or 0
        # What each item still lacks; a module builds an item only above its current level.
        short = {row.code: row.level for row in group.indicators if row.level < target}
        if group.row.level < target:
            short[group.row.code] = group.row.level
        ranked = rank_modules(
            modules, short, target, lambda module: grade in module_grades(module, all_grades)
        )
        chosen = [
            Suggestion(
                title=localized(module, "title"),
                hours=_hours(module.hours),
                builds=[(item.code, localized(item, "name")) for item in builds],
                for_grade=not other_grade,
            )
            for module, builds, other_grade in ranked[:MAX_SUGGESTIONS]
        ]
        found.append(
            GapSuggestions(
                competency=group.row,
                gap=group.gap or 0,
                target_name=names.get(target, str(target)),
                modules=chosen,
            )
        )
    return found


def _return_url(launch: Launch) -> str:
    presentation = launch.claims.get(CLAIM_LAUNCH_PRESENTATION) or {}
    url = presentation.get("return_url", "") if isinstance(presentation, dict) else ""
    # Only web URLs become a link: a "javascript:" return_url would run in our origin.
    return url if isinstance(url, str) and url.lower().startswith(("https:", "http:")) else ""


def build_map(
    session: Session, framework: Framework, learner: Learner | None, audience: Audience
) -> dict[str, Any]:
    """Everything the map page shows for ``learner`` (an empty map when None), with modules
    suggested from the catalog ``audience`` reads."""
    settings = app_state.settings()
    report = (
        attainment_report(session, learner, framework, rollup_config(settings.rollup))
        if learner is not None
        else _empty_report(framework)
    )
    names = _level_names(framework)
    items = {row["id"]: row for row in report["items"]}
    targets = {row["id"]: row for row in report["competencies"]}
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    if learner is not None:
        for row in evidence_for(session, learner):
            evidence[row.item_id].append(row)
    modules = {m.key: m for m in session.scalars(select(Module))}

    def item_row(item: Item) -> ItemRow:
        data = items.get(item.code, {"level": 0, "value": None, "evidence": []})
        return ItemRow(
            code=item.code,
            name=localized(item, "name"),
            kind=item.kind,
            level=data["level"],
            level_name=names.get(data["level"], str(data["level"])),
            value=_percent(data["value"]),
            target=targets.get(item.code, {}).get("target"),
            evidence=_evidence_rows(evidence[item.code], data["evidence"], modules, names),
        )

    groups: list[CompetencyGroup] = []
    attitudes: list[ItemRow] = []
    for item in framework_order(framework):
        if item.kind == "competency":
            groups.append(CompetencyGroup(item_row(item), targets[item.code]["gap"]))
        elif item.kind == "attitude":
            attitudes.append(item_row(item))
        elif groups:
            groups[-1].indicators.append(item_row(item))
    top = max(names)
    for group in groups:
        _progress(group, names, top)
    grade_key = learner.grade if learner is not None else ""
    grade = next((g for g in framework.grades if g.key == grade_key), None)
    all_grades = tuple(g.key for g in sorted(framework.grades, key=lambda g: g.position))
    finished = finished_modules(session, learner) if learner is not None else set()
    return {
        "groups": groups,
        "attitudes": attitudes,
        "grade": grade,
        "level_names": names,
        "max_level": top,
        "suggestions": _suggestions(
            session, audience, groups, grade_key, all_grades, names, finished
        ),
        "radar": _radar(groups, names, top),
        "radar_summary": _radar_summary(groups, names, top),
        "rules": explain_rollup(settings.rollup, names),
    }


def _progress(group: CompetencyGroup, names: dict[int, str], top: int) -> None:
    """Fill in how many indicators reached each level and their mean level."""
    levels = [row.level for row in group.indicators]
    group.reached = [
        (names.get(number, str(number)), sum(1 for level in levels if level >= number))
        for number in range(1, top + 1)
    ]
    group.mean = sum(levels) / len(levels) if levels else float(group.row.level)


def _radar(groups: list[CompetencyGroup], names: dict[int, str], top: int) -> Radar | None:
    axes = [
        RadarAxis(
            code=group.row.code,
            name=group.row.name,
            level=group.row.level,
            mean=group.mean,
            target=group.row.target,
        )
        for group in groups
    ]
    return radar_chart(axes, top, names)


def _radar_summary(groups: list[CompetencyGroup], names: dict[int, str], top: int) -> str:
    """The radar's text alternative: each competency's numbers in one sentence."""
    parts = []
    for group in groups:
        row = group.row
        progress = _(
            "%(code)s %(name)s: mean indicator level %(mean)s of %(top)s, attained %(level)s",
            code=row.code, name=row.name, mean=group.mean_text, top=top, level=row.level_name,
        )  # fmt: skip
        if row.target is not None:
            progress += _(", target %(target)s", target=names.get(row.target, str(row.target)))
        parts.append(progress)
    return _("Competency map: %(details)s.", details=_("; ").join(parts))


def named_learner(session: Session, launch: Launch, person: str) -> Learner:
    """The learner ``?person=<learner id>`` names, for a designer's or administrator's launch.

    A course designer reaches the learners of their own platform registration (people who
    launched through it), as the course heat map lists them; an administrator those of every
    registration of the organisation, as the organisation view does (plugin.rollup.scope). A
    learner out of reach is "no such learner" (404, like an unknown id), so another
    platform's ids cannot be probed.
    """
    number = parse_int(person, "person", minimum=1, maximum=2**31 - 1)
    learner = find_learner_in_reach(session, launch_audience(launch), number)
    if learner is None:
        raise NotFound(_("No such learner."), field="person")
    return learner


def _person(session: Session, launch: Launch, own: Learner | None) -> Learner | None:
    """The learner whose map is shown: ``?person=<learner id>`` for designers and admins."""
    person = request.args.get("person", "")
    if not person:
        return own
    if launch.role not in (DESIGNER, ADMINISTRATOR):
        if own is not None and parse_int(person, "person", minimum=1) == own.id:
            return own
        raise Forbidden(_("Learners can see only their own competency map."))
    return named_learner(session, launch, person)


@blueprint.get("/lti/map")
def competency_map() -> str:
    """The launched person's own map, or with ``?person=`` a learner's (designers, admins)."""
    launch = current_launch()
    session = app_state.session()
    framework = get_framework(session)
    if framework is None:
        raise NotFound(_("No competency framework is loaded."), field="framework")
    own = find_learner(session, launch.person.issuer, launch.person.sub)
    learner = _person(session, launch, own)
    if learner is not None and learner is not own:
        audit_learner(launch, "map.person", learner.id)
    return render_template(
        "competency_map/map.html",
        launch=launch,
        viewed=learner if learner is not own else None,
        viewed_name=learner_name(session, learner) if learner and learner is not own else "",
        return_url=_return_url(launch),
        # The learner's own exports (plugin/web/exports.py), once there is a record to export.
        downloads=learner is not None,
        timezone=app_state.settings().i18n.timezone,
        **build_map(session, framework, learner, launch_audience(launch)),
    )
