"""Designer pages on the catalog: coverage of the framework (page and CSV), outside courses."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from plugin import app_state
from plugin.competencies.coverage import (
    CoverageReport,
    compute_coverage,
    coverage_csv,
    format_hours,
)
from plugin.competencies.outside_courses import (
    HEADER,
    MAX_BYTES,
    MAX_HOURS,
    MAX_ROWS,
    CourseFileInvalid,
    ImportReport,
    Problem,
    import_outside_courses,
)
from plugin.core.errors import Forbidden, InvalidInput
from plugin.lti.claims import ADMINISTRATOR, DESIGNER
from plugin.organisations.audience import Audience
from plugin.web.audience import launch_audience
from plugin.web.loaded_framework import framework_or_404
from plugin.web.lti import current_launch

blueprint = Blueprint("coverage", __name__, url_prefix="/catalog")
# Excel reads a CSV as the local ANSI code page unless it starts with a UTF-8 byte-order mark.
UTF8_BOM = "\ufeff"


def _require_designer() -> Audience:
    """The launch's audience: its organisation's modules and the national catalog count."""
    launch = current_launch()
    if launch is None or launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers and administrators can see the catalog."))
    return launch_audience(launch)


def problem_text(problem: Problem) -> tuple[str, str]:
    """A refused file's problem in the page's language, and ``en`` when it stayed English
    (a reason the catalog does not know, e.g. the csv module's own)."""
    # The catalog's message with the problem's values: those (a column, a cell) are the
    # file's own text and stay as written.
    text = _(problem.template, **problem.params) if problem.template else problem.message
    english = str(get_locale()).startswith("zh") and text == problem.message and text.isascii()
    return text, "en" if english else ""


def _page(
    report: CoverageReport,
    *,
    imported: ImportReport | None = None,
    problems: list[Problem] | None = None,
    refusal: str = "",
    status: int = 200,
) -> tuple[str, int]:
    html = render_template(
        "coverage/coverage.html",
        report=report,
        imported=imported,
        problems=problems or [],
        refusal=refusal,
        header=",".join(HEADER),
        max_megabytes=MAX_BYTES // (1024 * 1024),
        max_rows=MAX_ROWS,
        max_hours=f"{MAX_HOURS:g}",
        fmt_hours=format_hours,
        problem_text=problem_text,
    )
    return html, status


@blueprint.get("/coverage")
def coverage() -> tuple[str, int]:
    """The coverage table: modules and hours per item and grade, uncovered items first."""
    audience = _require_designer()
    session = app_state.session()
    return _page(compute_coverage(session, framework_or_404(session), audience))


@blueprint.get("/coverage.csv")
def coverage_download() -> Response:
    """The coverage table as CSV (UTF-8 with BOM, one row per item, stable column names)."""
    audience = _require_designer()
    session = app_state.session()
    framework = framework_or_404(session)
    report = compute_coverage(session, framework, audience)
    response = Response(UTF8_BOM + coverage_csv(report), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="coverage-{framework.key}.csv"'
    # The table is behind a launch token; shared caches must not keep it.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.post("/outside-courses")
def outside_courses_upload() -> tuple[str, int]:
    """Import an outside-course CSV; the page shows what changed, or why nothing did (400)."""
    audience = _require_designer()
    session = app_state.session()
    framework = framework_or_404(session)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput(_("Choose a CSV file to import."), field="file")
        # One byte over the cap is enough for the import to refuse the file by size.
        data = upload.stream.read(MAX_BYTES + 1)
        imported = import_outside_courses(session, framework, data, request.form.get("source", ""))
    except CourseFileInvalid as exc:
        session.rollback()  # before the page reads the catalog again: nothing half-imported
        report = compute_coverage(session, framework, audience)
        return _page(report, problems=exc.problems, refusal=exc.message, status=400)
    except InvalidInput as exc:
        session.rollback()  # before the page reads the catalog again: nothing half-imported
        report = compute_coverage(session, framework, audience)
        return _page(report, refusal=exc.message, status=400)
    return _page(compute_coverage(session, framework, audience), imported=imported)
