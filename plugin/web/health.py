"""``GET /healthz``: the version and whether the database answers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from plugin import app_state
from plugin.core.version import tool_version

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 with the version and the database's reachability (for probes and operators)."""
    reachable = app_state.database().is_reachable()
    return jsonify(
        {
            "status": "ok" if reachable else "degraded",
            "version": tool_version(),
            "database": {"reachable": reachable},
        }
    )
