"""The administrators' page of the access audit (docs/ARCHITECTURE.md §10): who of their
organisation opened or exported whose records, and a CSV of it. Other organisations' entries,
and the operator's, are not theirs to see."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from plugin import app_state
from plugin.core.errors import Forbidden
from plugin.core.spreadsheet import csv_text
from plugin.lti.claims import ADMINISTRATOR
from plugin.lti.models import Launch
from plugin.privacy.audit import list_entries
from plugin.privacy.models import AuditEntry
from plugin.web.audience import launch_audience
from plugin.web.lti import current_launch

blueprint = Blueprint("audit_admin", __name__)
# Entries on the page, newest first; the CSV carries up to plugin.privacy.audit.MAX_LISTED.
PAGE_LIMIT = 200
CSV_COLUMNS = ("at", "actor_role", "actor_id", "action", "subject")
UTF8_BOM = "\ufeff"


def _administrator() -> Launch:
    launch = current_launch()
    if launch is None or launch.role != ADMINISTRATOR:
        raise Forbidden(_("Only administrators can see the access audit."))
    return launch


@blueprint.get("/lti/audit")
def audit_page() -> str:
    """The newest audit entries of the administrator's organisation."""
    launch = _administrator()
    entries = list_entries(app_state.session(), launch_audience(launch), limit=PAGE_LIMIT)
    return render_template(
        "audit_admin/audit.html", launch=launch, entries=entries, limit=PAGE_LIMIT
    )


@blueprint.get("/lti/audit.csv")
def audit_csv() -> Response:
    """The administrator's organisation's audit entries as CSV (UTF-8 with BOM for Excel)."""
    launch = _administrator()
    entries = list_entries(app_state.session(), launch_audience(launch))
    body = UTF8_BOM + csv_text(CSV_COLUMNS, (_row(entry) for entry in entries))
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="access-audit.csv"'
    return response


def _row(entry: AuditEntry) -> list[str]:
    return [entry.at.isoformat(), entry.actor_role, entry.actor_id, entry.action, entry.subject]
