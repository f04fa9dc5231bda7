"""Downloads: coverage (XLSX), attainment (CSV, XLSX), Open Badges (JSON), the framework (CASE).

Who may download what:

- ``/exports/case.json``: anyone (the framework is public, like its IRIs);
- ``/exports/coverage.xlsx?lt=`` and ``/exports/heatmap.csv|.xlsx?lt=``: course designers and
  administrators;
- ``/exports/attainment.csv|.xlsx?lt=`` and ``/exports/badges.json?lt=``: a learner gets their
  own; designers name a learner of their own platform registration, administrators one of
  their organisation, with ``?person=<learner id>``;
- ``/exports/organisation…``: administrators, their organisation's people;
- ``/exports/my-data.json?lt=``: everything the tool holds about the launched person (what the
  operator's ``person export`` writes), to that person only, whatever their role.

Whose people a launch reaches is one rule (plugin.rollup.scope), the pages' own.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.competencies.case import case_json, export_case
from plugin.competencies.coverage import compute_coverage, csv_columns, csv_rows, framework_order
from plugin.core.errors import Forbidden, NotFound
from plugin.core.spreadsheet import csv_text, xlsx_bytes
from plugin.lti.claims import ADMINISTRATOR, DESIGNER, LEARNER
from plugin.lti.models import Launch
from plugin.privacy.export import export_person
from plugin.rollup.badges import learner_credentials
from plugin.rollup.config import rollup_config
from plugin.rollup.learners import find_learner
from plugin.rollup.models import Learner
from plugin.rollup.reports import HEAT_KINDS, attainment_report, organisation_data
from plugin.web.access_audit import audit_launch, audit_learner, course_subject
from plugin.web.audience import launch_audience
from plugin.web.competency_map import named_learner
from plugin.web.course import read_roster
from plugin.web.heatmap import launch_heat_rows
from plugin.web.loaded_framework import framework_or_404
from plugin.web.lti import current_launch

blueprint = Blueprint("exports", __name__, url_prefix="/exports")
UTF8_BOM = "\ufeff"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COVERAGE_NUMBERS = {
    "module_count",
    "modules_direct",
    "modules_via_indicators",
    "module_hours",
    "outside_course_count",
    "outside_course_hours",
    "total_hours",
}
ATTAINMENT_COLUMNS = [
    "person",
    "grade",
    "code",
    "kind",
    "competency",
    "name_zh",
    "name_en",
    "value",
    "level",
    "target",
    "gap",
    "evidence_count",
]


def _download(body: str | bytes, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Behind a launch token: shared caches must not keep it.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _workbook(title: str, columns: list[str], rows: list[list[Any]]) -> bytes:
    return xlsx_bytes([(title, columns, rows)])


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


@blueprint.get("/case.json")
def case_download() -> Response:
    """The framework as a CASE 1.1 package (public: the framework and its IRIs are public)."""
    framework = framework_or_404(app_state.session())
    package = export_case(
        framework, app_state.settings().framework.iri_base, app_state.settings().lti.title
    )
    response = Response(case_json(package), content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{framework.key}.case.json"'
    return response


@blueprint.get("/coverage.xlsx")
def coverage_xlsx() -> Response:
    """The coverage table as an Excel workbook, the same columns as the CSV."""
    launch = current_launch()
    if launch is None or launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers and administrators can see the catalog."))
    session = app_state.session()
    framework = framework_or_404(session)
    report = compute_coverage(session, framework, launch_audience(launch))
    columns = csv_columns(report)
    rows = [
        [
            _number(row[name])
            if name in COVERAGE_NUMBERS or name.startswith("hours_")
            else row[name]
            for name in columns
        ]
        for row in csv_rows(report)
    ]
    body = _workbook("coverage", columns, rows)
    return _download(body, XLSX_TYPE, f"coverage-{framework.key}.xlsx")


def _launch() -> Launch:
    """The request's launch (a missing or expired token is refused by ``current_launch``)."""
    launch = current_launch()
    if launch is None:
        raise Forbidden(_("Learners can download only their own records."))
    return launch


def _learner(session: Session, launch: Launch, action: str) -> Learner:
    """The learner an export is about: the launch's own, or ``?person=`` for designers; the
    export is recorded in the access audit as ``action``."""
    person = request.args.get("person", "")
    if launch.role in (DESIGNER, ADMINISTRATOR):
        # Designers reach their own platform's learners only (competency_map.named_learner).
        learner = named_learner(session, launch, person)
    elif launch.role != LEARNER or person:
        raise Forbidden(_("Learners can download only their own records."))
    else:
        found = find_learner(session, launch.person.issuer, launch.person.sub)
        if found is None:
            raise NotFound(_("You have no recorded competency evidence yet."), field="person")
        learner = found
    audit_learner(launch, action, learner.id)
    return learner


def _attainment_rows(action: str) -> tuple[str, list[list[Any]]]:
    """The file name (without extension) and rows of the attainment export ``action``."""
    session = app_state.session()
    learner = _learner(session, _launch(), action)
    framework = framework_or_404(session)
    report = attainment_report(
        session, learner, framework, rollup_config(app_state.settings().rollup)
    )
    items = {item["id"]: item for item in report["items"]}
    competencies = {row["id"]: row for row in report["competencies"]}
    rows = []
    for item in framework_order(framework):
        entry = items.get(item.code)
        if entry is None:
            continue
        summary = competencies.get(item.code, {})
        rows.append(
            [
                learner.id,
                learner.grade,
                item.code,
                item.kind,
                item.parent.code if item.parent is not None else "",
                item.name_zh,
                item.name_en,
                entry["value"],
                entry["level"],
                summary.get("target"),
                summary.get("gap"),
                len(entry["evidence"]),
            ]
        )
    return f"attainment-{framework.key}-{learner.id}", rows


@blueprint.get("/attainment.csv")
def attainment_csv() -> Response:
    """A learner's attainment per item as CSV (UTF-8 with BOM for Excel, framework order)."""
    name, rows = _attainment_rows("export.attainment_csv")
    body = UTF8_BOM + csv_text(ATTAINMENT_COLUMNS, rows)
    return _download(body, "text/csv; charset=utf-8", f"{name}.csv")


@blueprint.get("/attainment.xlsx")
def attainment_xlsx() -> Response:
    """A learner's attainment per item as an Excel workbook (the CSV's columns)."""
    name, rows = _attainment_rows("export.attainment_xlsx")
    body = _workbook("attainment", ATTAINMENT_COLUMNS, rows)
    return _download(body, XLSX_TYPE, f"{name}.xlsx")


@blueprint.get("/badges.json")
def badges_json() -> Response:
    """The learner's Open Badges 3.0 credentials, one per attained competency (unsigned)."""
    launch = _launch()
    session = app_state.session()
    learner = _learner(session, launch, "export.badges")
    framework = framework_or_404(session)
    config = app_state.settings()
    own = launch.role == LEARNER
    credentials = learner_credentials(
        session,
        learner,
        framework,
        iri_base=config.framework.iri_base,
        issuer_url=config.lti.base_url or request.host_url.rstrip("/"),
        issuer_name=config.lti.title,
        secret=config.secret_key,
        send_names=config.xapi.send_names,
        recipient_name=launch.person.name if own else "",
    )
    body = json.dumps(credentials, ensure_ascii=False, indent=2) + "\n"
    return _download(body, "application/json; charset=utf-8", f"badges-{learner.id}.json")


@blueprint.get("/my-data.json")
def personal_data_json() -> Response:
    """Everything held about the launched person, as ``person export`` writes it
    (docs/ARCHITECTURE.md §10): always the launch's own account, never a named one."""
    launch = _launch()
    if "person" in request.args:
        # Not even one's own id: this download has no way to name anyone.
        raise Forbidden(_("This download holds only your own records."))
    session = app_state.session()
    document = export_person(session, launch.person.issuer, launch.person.sub)
    if document["learner"] is not None:
        audit_learner(launch, "export.personal_data", document["learner"]["id"])
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return _download(body, "application/json; charset=utf-8", "personal-data.json")


def _heatmap_table(action: str) -> tuple[str, list[str], list[list[Any]]]:
    """The course heat map as (framework key, columns, rows): one row per learner."""
    launch = current_launch()
    if launch is None or launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers and administrators can see the heat map."))
    session = app_state.session()
    framework = framework_or_404(session)
    codes = [item.code for item in framework_order(framework) if item.kind in HEAT_KINDS]
    _offered, roster, _problem = read_roster(launch, "heat map roster")
    rows = [
        [row.learner_id or "", row.name, row.sub] + [row.levels.get(code, 0) for code in codes]
        for row in launch_heat_rows(session, launch, roster)
    ]
    audit_launch(launch, action, course_subject(launch, len(rows)))
    return framework.key, ["person", "name", "sub", *codes], rows


@blueprint.get("/heatmap.csv")
def heatmap_csv() -> Response:
    """The course heat map (learners × indicators and attitudes, levels) as CSV."""
    key, columns, rows = _heatmap_table("export.heatmap_csv")
    body = UTF8_BOM + csv_text(columns, rows)
    return _download(body, "text/csv; charset=utf-8", f"heatmap-{key}.csv")


@blueprint.get("/heatmap.xlsx")
def heatmap_xlsx() -> Response:
    """The course heat map as an Excel workbook (the CSV's columns)."""
    key, columns, rows = _heatmap_table("export.heatmap_xlsx")
    return _download(_workbook("heatmap", columns, rows), XLSX_TYPE, f"heatmap-{key}.xlsx")


def _organisation_tables(action: str) -> tuple[str, list[tuple[str, list[str], list[list[Any]]]]]:
    """The organisation view's two tables: distribution by grade, and people below target."""
    launch = current_launch()
    if launch is None or launch.role != ADMINISTRATOR:
        raise Forbidden(_("Only administrators can see the organisation view."))
    session = app_state.session()
    data = organisation_data(session, framework_or_404(session), launch_audience(launch))
    audit_launch(launch, action, f"organisation {data.people} people")
    levels = list(range(data.top + 1))
    distribution = [
        [
            item.code,
            grade or "unknown",
            data.targets.get((grade, item.code), ""),
            *data.distribution[item.code][grade],
        ]
        for item in data.competencies
        for grade in data.columns
    ]
    below = [
        [
            row.learner_id,
            "; ".join(full for _issuer, _sub, full in row.identities),
            row.grade,
            row.competency,
            row.level,
            row.target,
            row.gap,
        ]
        for row in data.shortfalls
    ]
    return data.framework.key, [
        (
            "distribution",
            ["competency", "grade", "target", *(f"level_{n}" for n in levels)],
            distribution,
        ),
        (
            "below_target",
            ["person", "identities", "grade", "competency", "level", "target", "gap"],
            below,
        ),
    ]


@blueprint.get("/organisation-<table>.csv")
def organisation_csv(table: str) -> Response:
    """One of the organisation view's tables (distribution, below_target) as CSV."""
    key, tables = _organisation_tables("export.organisation_csv")
    chosen = {name: (columns, rows) for name, columns, rows in tables}
    if table not in chosen:
        raise NotFound(_("No such table: %(table)s", table=table), field="table")
    columns, rows = chosen[table]
    name = f"organisation-{table}-{key}.csv"
    return _download(UTF8_BOM + csv_text(columns, rows), "text/csv; charset=utf-8", name)


@blueprint.get("/organisation.xlsx")
def organisation_xlsx() -> Response:
    """The organisation view's tables as one Excel workbook, a sheet each."""
    key, tables = _organisation_tables("export.organisation_xlsx")
    return _download(xlsx_bytes(tables), XLSX_TYPE, f"organisation-{key}.xlsx")
