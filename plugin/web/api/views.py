"""The JSON API's endpoints: frameworks, modules, coverage, persons, attainment, evidence."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from plugin import app_state
from plugin.competencies.coverage import (
    CourseUse,
    ModuleUse,
    compute_coverage,
    framework_order,
    module_grades,
)
from plugin.competencies.framework import count_items, get_framework, item_iri
from plugin.competencies.models import (
    Framework,
    Grade,
    GradeTarget,
    Item,
    Module,
    ModuleTag,
    Scale,
    TrainingClass,
)
from plugin.competencies.modules import contains_pattern, find_module, readable_by
from plugin.core.errors import Forbidden, InvalidInput, NotFound
from plugin.organisations.audience import Audience
from plugin.privacy.records import learner_subject
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import evidence_for
from plugin.rollup.learners import find_learner
from plugin.rollup.models import Identity, Learner
from plugin.rollup.reports import attainment_report
from plugin.rollup.scope import find_learner_in_reach, identities_in_reach, learner_in_reach
from plugin.web.access_audit import audit_token
from plugin.web.api import schemas
from plugin.web.api.declare import Call, api_endpoint, page_body, page_of, slice_page
from plugin.web.audience import token_audience

MAX_ID = 2**31 - 1


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh_tw": zh, "en": en}


def _iri_base() -> str:
    return app_state.settings().framework.iri_base


def _plain(text: str) -> bool:
    """True when ``text`` has no control characters (PostgreSQL refuses NUL in strings)."""
    return not any(ord(char) < 32 or ord(char) == 127 for char in text)


def audience_of(call: Call) -> Audience:
    """The reach of the calling API token: its organisation's people and modules (and the
    national catalog), or everything for the operator's token."""
    token = call.principal.token if call.principal is not None else None
    if token is None:
        raise Forbidden("this endpoint needs an API token", field="scope")
    return token_audience(token.organisation_id)


def framework_or_404(session: Session, key: str | None) -> Framework:
    """The framework with ``key`` (default: the first loaded) or :class:`NotFound`."""
    framework = get_framework(session, key) if key is None or _plain(key) else None
    if framework is None:
        if key is None:
            raise NotFound("no competency framework is loaded", field="framework")
        raise NotFound(f"no framework {key!r}", field="framework")
    return framework


# --- frameworks -------------------------------------------------------------------------------


def _framework_summary(session: Session, framework: Framework) -> dict[str, Any]:
    return {
        "key": framework.key,
        "version": framework.version,
        "iri": f"{_iri_base()}{framework.key}",
        "title": _text(framework.title_zh, framework.title_en),
        "counts": count_items(session, framework),
        "href": url_for("api.get_framework_detail", key=framework.key),
    }


@api_endpoint(
    "/frameworks",
    tag="frameworks",
    scope="read:frameworks",
    query=schemas.PageQuery,
    response=schemas.FrameworkPage,
)
def list_frameworks(call: Call) -> dict[str, Any]:
    """List the loaded competency frameworks."""
    session = app_state.session()
    rows, total = page_of(session, select(Framework).order_by(Framework.id), call.args)
    return page_body([_framework_summary(session, f) for f in rows], total, call.args)


@api_endpoint(
    "/frameworks/<key>",
    tag="frameworks",
    scope="read:frameworks",
    response=schemas.FrameworkDetail,
)
def get_framework_detail(call: Call, key: str) -> dict[str, Any]:
    """One framework with its items (codes, kinds, names, IRIs), scales, grades and targets."""
    session = app_state.session()
    framework = framework_or_404(session, key)
    items = framework_order(framework)
    codes = {item.id: item.code for item in items}
    body = _framework_summary(session, framework)
    body["items"] = [
        {
            "code": item.code,
            "kind": item.kind,
            "parent": codes.get(item.parent_id) if item.parent_id is not None else None,
            "iri": item_iri(_iri_base(), framework.key, item.code),
            "name": _text(item.name_zh, item.name_en),
            "description": _text(item.description_zh, item.description_en),
        }
        for item in items
    ]
    scales = session.scalars(
        select(Scale)
        .where(Scale.framework_id == framework.id)
        .order_by(Scale.id)
        .options(selectinload(Scale.levels))
    )
    body["scales"] = [
        {
            "key": scale.key,
            "name": _text(scale.name_zh, scale.name_en),
            "levels": [
                {
                    "number": level.number,
                    "band": level.band,
                    "name": _text(level.name_zh, level.name_en),
                    "equivalent_min": level.equivalent_min,
                    "equivalent_max": level.equivalent_max,
                }
                for level in scale.levels
            ],
        }
        for scale in scales
    ]
    grades = session.scalars(
        select(Grade)
        .where(Grade.framework_id == framework.id)
        .order_by(Grade.position)
        .options(selectinload(Grade.targets).selectinload(GradeTarget.item))
    )
    body["grades"] = [
        {
            "key": grade.key,
            "name": _text(grade.name_zh, grade.name_en),
            "targets": {
                target.item.code: target.level
                for target in sorted(grade.targets, key=lambda t: (t.item.position, t.item.code))
            },
        }
        for grade in grades
    ]
    return body


# --- modules ----------------------------------------------------------------------------------


def _module_summary(module: Module) -> dict[str, Any]:
    tags = sorted(module.active_tags, key=lambda tag: (tag.item.position, tag.item.code))
    return {
        "key": module.key,
        "title": _text(module.title_zh, module.title_en),
        "hours": float(module.hours or 0.0),
        "activity_iri": module.activity_iri,
        "training_class": module.training_class.key if module.training_class else None,
        "origin": module.origin,
        "tags": [
            {
                "item": tag.item.code,
                "kind": tag.item.kind,
                "iri": item_iri(_iri_base(), tag.item.framework.key, tag.item.code),
                "level": tag.level,
                "weight": tag.weight,
            }
            for tag in tags
        ],
        "href": url_for("api.get_module_detail", key=module.key),
    }


def _module_options() -> tuple[Any, ...]:
    return (
        selectinload(Module.tags).selectinload(ModuleTag.item).selectinload(Item.framework),
        selectinload(Module.training_class).selectinload(TrainingClass.grades),
    )


@api_endpoint(
    "/modules",
    tag="modules",
    scope="read:modules",
    query=schemas.ModuleQuery,
    response=schemas.ModulePage,
)
def list_modules(call: Call) -> dict[str, Any]:
    """List catalog modules, by text (``q``) and/or an item they are tagged with (``item``).

    An organisation's token lists its modules and the national catalog.
    """
    session = app_state.session()
    statement = (
        select(Module)
        .where(readable_by(audience_of(call)))
        .order_by(Module.key)
        .options(*_module_options())
    )
    query = (call.args.get("q") or "").strip()
    if query:
        pattern = contains_pattern(query)
        columns = (Module.title_zh, Module.title_en, Module.key)
        statement = statement.where(or_(*(c.ilike(pattern, escape="\\") for c in columns)))
    code = call.args.get("item")
    if code:
        item_ids = list(session.scalars(select(Item.id).where(Item.code == code)))
        if not item_ids:
            raise InvalidInput(f"item: no framework item {code!r}", field="item")
        tagged = select(ModuleTag.module_id).where(
            ModuleTag.item_id.in_(item_ids), ModuleTag.retired_at.is_(None)
        )
        statement = statement.where(Module.id.in_(tagged))
    rows, total = page_of(session, statement, call.args)
    return page_body([_module_summary(module) for module in rows], total, call.args)


@api_endpoint("/modules/<key>", tag="modules", scope="read:modules", response=schemas.ModuleDetail)
def get_module_detail(call: Call, key: str) -> dict[str, Any]:
    """One module with its active competency tags and levels."""
    session = app_state.session()
    if not _plain(key):
        raise NotFound(f"no module {key!r}", field="module")
    module = find_module(session, key, audience_of(call))
    all_grades = tuple(
        session.scalars(
            select(Grade.key)
            .join(Framework, Grade.framework_id == Framework.id)
            .order_by(Framework.id, Grade.position)
        )
    )
    body = _module_summary(module)
    body.update(
        description=_text(module.description_zh, module.description_en),
        mastery_score=module.mastery_score,
        grades=list(module_grades(module, all_grades)),
        updated_at=module.updated_at,
    )
    return body


# --- coverage ---------------------------------------------------------------------------------


@api_endpoint(
    "/coverage",
    tag="coverage",
    scope="read:coverage",
    query=schemas.FrameworkQuery,
    response=schemas.CoverageOut,
)
def get_coverage(call: Call) -> dict[str, Any]:
    """The catalog's coverage of a framework: modules, outside courses and hours per item.

    An organisation's token counts its modules and the national catalog.
    """
    session = app_state.session()
    framework = framework_or_404(session, call.args.get("framework"))
    report = compute_coverage(session, framework, audience_of(call))
    return {
        "framework": report.framework_key,
        "grades": [{"key": g.key, "name": _text(g.name_zh, g.name_en)} for g in report.grades],
        "rows": [
            {
                "code": row.code,
                "kind": row.kind,
                "parent": row.parent or None,
                "name": _text(row.name_zh, row.name_en),
                "covered": row.covered,
                "modules": [
                    {"key": use.key, "title": _text(use.title_zh, use.title_en), **_use(use)}
                    for use in row.modules
                ],
                "courses": [
                    {"code": use.code, "title": use.title, **_use(use)} for use in row.courses
                ],
                "module_hours": row.module_hours,
                "course_hours": row.course_hours,
                "total_hours": row.total_hours,
                "hours_by_grade": row.hours_by_grade,
            }
            for row in report.rows
        ],
        "competencies": [
            {
                "code": s.code,
                "name": _text(s.name_zh, s.name_en),
                "indicators": s.indicators,
                "covered": s.covered,
                "uncovered": s.uncovered,
                "hours": s.hours,
            }
            for s in report.competencies
        ],
        "uncovered": [row.code for row in report.uncovered],
    }


def _use(use: ModuleUse | CourseUse) -> dict[str, Any]:
    """How a module or outside course counts on a coverage row."""
    return {
        "hours": use.hours,
        "grades": list(use.grades),
        "direct": use.direct,
        "via": list(use.via),
    }


# --- persons ----------------------------------------------------------------------------------


def person_body(learner: Learner, identities: list[Identity]) -> dict[str, Any]:
    """A learner as the API shows them: id, the identities in reach, grade and link."""
    identities = sorted(identities, key=lambda i: (i.issuer, i.sub))
    return {
        "id": learner.id,
        "identities": [{"issuer": i.issuer, "sub": i.sub} for i in identities],
        "grade": learner.grade or None,
        "href": url_for("api.get_person", person_id=learner.id),
    }


def _audit(call: Call, action: str, subject: str) -> None:
    """Record an API token's read of person data (a learner's own launch is not recorded)."""
    if call.principal is not None and call.principal.token is not None:
        audit_token(call.principal.token, action, subject)


def _read_person(call: Call, person_id: int, action: str) -> tuple[Session, Audience, Learner]:
    """The learner ``person_id`` if the token reaches them, the read recorded as ``action``."""
    session = app_state.session()
    audience = audience_of(call)
    learner = learner_or_404(session, person_id, audience)
    _audit(call, action, learner_subject(learner.id))
    return session, audience, learner


def learner_or_404(session: Session, person_id: int, audience: Audience) -> Learner:
    """The learner with ``person_id`` if ``audience`` reaches them, or :class:`NotFound` (an
    unknown id and another organisation's person look the same)."""
    # Beyond a 32-bit id no row can exist, and the database would refuse the number.
    learner = find_learner_in_reach(session, audience, person_id) if person_id <= MAX_ID else None
    if learner is None:
        raise NotFound(f"no person {person_id}", field="id")
    return learner


@api_endpoint(
    "/persons",
    tag="persons",
    scope="read:persons",
    query=schemas.PersonQuery,
    response=schemas.PersonPage,
)
def list_persons(call: Call) -> dict[str, Any]:
    """List learners with their platform identities and grade (``issuer`` + ``sub`` finds one).

    An organisation's token lists the people who launched through its registrations.
    """
    session = app_state.session()
    audience = audience_of(call)
    statement = select(Learner).where(learner_in_reach(audience)).order_by(Learner.id)
    issuer, sub = call.args.get("issuer"), call.args.get("sub")
    if issuer or sub:
        match = select(Identity.learner_id)
        if issuer:
            match = match.where(Identity.issuer == issuer)
        if sub:
            match = match.where(Identity.sub == sub)
        statement = statement.where(Learner.id.in_(match))
    rows, total = page_of(session, statement, call.args)
    identities = identities_in_reach(session, audience, [learner.id for learner in rows])
    body = [person_body(learner, identities[learner.id]) for learner in rows]
    _audit(call, "api.persons", f"{len(body)} people")
    return page_body(body, total, call.args)


@api_endpoint(
    "/persons/<int:person_id>", tag="persons", scope="read:persons", response=schemas.PersonOut
)
def get_person(call: Call, person_id: int) -> dict[str, Any]:
    """One learner with their platform identities and grade."""
    session, audience, learner = _read_person(call, person_id, "api.person")
    return person_body(learner, identities_in_reach(session, audience, [learner.id])[learner.id])


def _attainment(
    session: Session, learner: Learner, framework_key: str | None, audience: Audience | None
) -> dict[str, Any]:
    """The attainment report; its identities those ``audience`` reaches (None: the learner's
    own report, every identity)."""
    framework = framework_or_404(session, framework_key)
    report = attainment_report(
        session, learner, framework, rollup_config(app_state.settings().rollup)
    )
    report["person"]["href"] = url_for("api.get_person", person_id=learner.id)
    if audience is None:
        return report
    reached = identities_in_reach(session, audience, [learner.id])[learner.id]
    report["person"]["identities"] = [
        {"issuer": identity.issuer, "sub": identity.sub}
        for identity in sorted(reached, key=lambda i: (i.issuer, i.sub))
    ]
    return report


@api_endpoint(
    "/persons/<int:person_id>/attainment",
    tag="attainment",
    scope="read:attainment",
    query=schemas.AttainmentQuery,
    response=schemas.AttainmentOut,
)
def get_person_attainment(call: Call, person_id: int) -> dict[str, Any]:
    """A person's attainment per item and competency, against their grade's target.

    Each item lists the evidence (source ids) its value and level came from.
    """
    session, audience, learner = _read_person(call, person_id, "api.attainment")
    return _attainment(session, learner, call.args.get("framework"), audience)


@api_endpoint(
    "/persons/<int:person_id>/evidence",
    tag="evidence",
    scope="read:evidence",
    query=schemas.EvidenceQuery,
    response=schemas.EvidencePage,
)
def list_person_evidence(call: Call, person_id: int) -> dict[str, Any]:
    """A person's evidence in observation order, optionally of one item (``item``)."""
    session, _audience, learner = _read_person(call, person_id, "api.evidence")
    rows, total = slice_page(evidence_for(session, learner, call.args.get("item")), call.args)
    return page_body(rows, total, call.args)


@api_endpoint(
    "/me/attainment",
    tag="attainment",
    scope="read:attainment",
    query=schemas.AttainmentQuery,
    response=schemas.AttainmentOut,
    launch=True,
)
def get_my_attainment(call: Call) -> dict[str, Any]:
    """The attainment of the learner whose LTI launch token calls (their own only).

    Authenticate with the launch token as ``?lt=`` or ``Authorization: Bearer lt.<token>``.
    A learner with no evidence yet gets 404 ``not_found``.
    """
    if call.principal is None or call.principal.launch is None:
        raise Forbidden(
            "/me/attainment answers for a learner's launch token; "
            "API tokens read /persons/{id}/attainment",
            field="scope",
        )
    session = app_state.session()
    person = call.principal.launch.person
    learner = find_learner(session, person.issuer, person.sub)
    if learner is None:
        raise NotFound("no attainment has been recorded for you yet", field="person")
    return _attainment(session, learner, call.args.get("framework"), None)
