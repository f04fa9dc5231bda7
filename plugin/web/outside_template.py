"""The outside-course template: a CSV file to fill in, linked beside the upload form."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import gettext as _

from plugin import app_state
from plugin.competencies.outside_courses import template_csv
from plugin.core.errors import Forbidden
from plugin.lti.claims import ADMINISTRATOR, DESIGNER
from plugin.web.loaded_framework import framework_or_404
from plugin.web.lti import current_launch

blueprint = Blueprint("outside_template", __name__, url_prefix="/catalog")
# Excel reads a CSV as the local ANSI code page unless it starts with a UTF-8 byte-order mark.
UTF8_BOM = "\ufeff"


@blueprint.get("/outside-courses/template.csv")
def outside_courses_template() -> Response:
    """The header and one example row that imports unchanged (UTF-8 with BOM for Excel)."""
    launch = current_launch()
    if launch is None or launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers and administrators can see the catalog."))
    framework = framework_or_404(app_state.session())
    response = Response(UTF8_BOM + template_csv(framework), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="outside-courses.csv"'
    return response
