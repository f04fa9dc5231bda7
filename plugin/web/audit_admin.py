"""The administrators' page of the access audit (docs/ARCHITECTURE.md §10): who of their
organisation opened or exported whose records, and a CSV of it. Other organisations' entries,
and the operator's, are not theirs to see."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from plugin import app_state
from plugin.core.errors import Forbidden
from plugin.core.spreadsheet import csv_text
from plugin.lti.claims import ADMINISTRATOR
from plugin.lti.models import Launch
from plugin.privacy.audit import list_entries
from plugin.privacy.models import AuditEntry
from plugin.rollup.people import launched_names, person_labels
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
    session = app_state.session()
    audience = launch_audience(launch)
    entries = list_entries(session, audience, limit=PAGE_LIMIT)
    return render_template(
        "audit_admin/audit.html",
        launch=launch,
        entries=entries,
        limit=PAGE_LIMIT,
        actors=launched_names(session, audience, _numbered(entries, "actor_id", "person")),
        learners=person_labels(session, audience, _numbered(entries, "subject", "learner")),
    )


def _numbered(entries: Sequence[AuditEntry], column: str, word: str) -> set[int]:
    """The ids of the entries' ``column`` values that read "``word`` <id>" (how the audit
    names launched people and learners: plugin.privacy.records)."""
    found = set()
    for entry in entries:
        head, _space, number = str(getattr(entry, column)).partition(" ")
        if head == word and number.isdigit():
            found.add(int(number))
    return found


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
