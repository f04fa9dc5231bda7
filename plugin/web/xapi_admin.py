"""The administrators' page on statement delivery: the outbox per LRS and what was refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, render_template
from flask_babel import format_timedelta
from flask_babel import gettext as _

from plugin import app_state
from plugin.core.db import utcnow
from plugin.core.errors import Forbidden
from plugin.lti.claims import ADMINISTRATOR
from plugin.web.audience import launch_audience
from plugin.web.lti import current_launch
from plugin.xapi.delivery import TargetCounts, list_quarantined, queue_counts

blueprint = Blueprint("xapi_admin", __name__)
# Quarantined statements listed on the page, newest first (`xapi status` counts them all).
QUARANTINE_LIMIT = 50


@dataclass(frozen=True)
class TargetView:
    """One LRS as the page shows it."""

    counts: TargetCounts
    endpoint: str  # empty when rows name an LRS the config no longer has
    oldest_pending_age: timedelta | None


@blueprint.get("/xapi/status")
def status_page() -> str:
    """Pending, delivered and quarantined statements per LRS, the oldest wait, last errors:
    of the administrator's organisation's learners (unattributed rows, such as imported
    evidence, are the operator's: ``xapi status``)."""
    launch = current_launch()
    if launch is None or launch.role != ADMINISTRATOR:
        raise Forbidden(_("Only administrators can see the delivery of learning records."))
    configured = {target.name: target.endpoint for target in app_state.settings().xapi.lrs}
    session = app_state.session()
    audience = launch_audience(launch)
    now = utcnow()
    targets = [
        TargetView(counts, configured.get(counts.target, ""), counts.oldest_pending_age(now))
        for counts in queue_counts(session, list(configured), audience=audience)
    ]
    return render_template(
        "xapi_admin/status.html",
        targets=targets,
        quarantined=list_quarantined(session, QUARANTINE_LIMIT, audience=audience),
        quarantine_limit=QUARANTINE_LIMIT,
        format_age=lambda age: format_timedelta(age, threshold=1.0),
    )
