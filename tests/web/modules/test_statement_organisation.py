"""Outbox statements name the organisation whose learner event wrote them (its
administrators follow their delivery on /xapi/status)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from plugin.lti.registrations import assign_registrations
from plugin.organisations.services import create_organisation
from plugin.xapi.models import OutboxStatement
from tests.support.flows import TOOL, Flow
from tests.support.modules import C4_T5, correct_answers, launch, token_of


def test_every_statement_of_a_learners_attempt_and_its_roll_up_names_the_organisation(
    flow: Flow, app: Flask
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        moda = create_organisation(session, "moda", "數位發展部")
        assign_registrations(session, moda, flow.platform.issuer)
        moda_id = moda.id
    response = launch(flow, link="rl-1", module_key=C4_T5)
    token = token_of(response)
    flow.land(response)
    result = flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    assert result.status_code == 200

    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.scalars(select(OutboxStatement)).all()
        owners = {(row.verb.rsplit("/", 1)[1], row.organisation_id) for row in rows}
    verbs = {verb for verb, _owner in owners}
    assert {"launched", "initialized", "answered", "passed", "terminated", "assessed"} <= verbs
    assert {owner for _verb, owner in owners} == {moda_id}
