"""A learner's SCORM run-time data is theirs: the personal-data export holds it, SCO by SCO,
and an erasure removes it while another learner's attempt stays."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.privacy.audit import Accessor
from plugin.privacy.erase import erase_person
from plugin.privacy.export import export_person
from tests.content.packages import scorm12
from tests.support.flows import Flow
from tests.support.scorm import add_package, open_player, send, tagged_module

ERASED, KEPT = "learner-erased", "learner-kept"


def _commit(flow: Flow, tool: FlaskClient, key: str, sub: str, location: str) -> None:
    """``sub`` opens the player and commits a bookmark and suspend data."""
    runtime = open_player(flow, key, sub=sub)
    cmi = {
        "cmi.core.lesson_location": location,
        "cmi.suspend_data": f"notes of {sub}",
        "cmi.core.lesson_status": "incomplete",
    }
    assert send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": cmi}).status_code == 200


def _counts(app: Flask) -> tuple[int, int]:
    with app.extensions["plugin.db"].session_scope() as session:
        attempts = session.scalar(select(func.count()).select_from(RuntimeAttempt))
        scos = session.scalar(select(func.count()).select_from(ScoState))
        return attempts or 0, scos or 0


def test_scorm_run_time_data_is_exported_and_erased_with_the_person(
    app: Flask, flow: Flow, tool: FlaskClient, tmp_path: Path
) -> None:
    key = tagged_module(app, [])[0]
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    _commit(flow, tool, key, ERASED, "page-7")
    _commit(flow, tool, key, KEPT, "page-2")
    issuer = flow.platform.issuer

    with app.extensions["plugin.db"].session_scope() as session:
        document = export_person(session, issuer, ERASED)
    (attempt,) = document["scorm_attempts"]
    (sco,) = attempt["scos"]
    assert (sco["item_identifier"], sco["location"], sco["suspend_data"]) == (
        "item-1",
        "page-7",
        f"notes of {ERASED}",
    )
    assert KEPT not in str(document["scorm_attempts"])
    assert _counts(app) == (2, 2)

    with app.extensions["plugin.db"].session_scope() as session:
        erase_person(
            session, issuer, ERASED, base_url="https://tool.test", accessor=Accessor.operator()
        )
    assert _counts(app) == (1, 1)
    with app.extensions["plugin.db"].session_scope() as session:
        assert export_person(session, issuer, ERASED)["nothing_held"] is True
        (left,) = export_person(session, issuer, KEPT)["scorm_attempts"]
    assert left["scos"][0]["location"] == "page-2"
