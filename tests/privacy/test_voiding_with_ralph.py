"""End to end with a real Ralph: after an erasure and a worker run, Ralph holds a voiding
statement, by the tool, for every statement it had received about the person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from plugin import create_app
from plugin.xapi.ledger import person_key
from plugin.xapi.models import DELIVERED, OutboxStatement
from plugin.xapi.vocabulary import VOIDED
from tests.support.app import app_config, copy_database
from tests.support.authz import LEARNER_A, LEARNER_B, launch, take_a_check
from tests.support.flows import registered_flow
from tests.support.lrs import TARGET, RalphServer
from tests.support.people import People


@pytest.fixture
def ralph_people(
    tmp_path: Path,
    seeded_sqlite: Path,
    running_ralph: RalphServer,
) -> Iterator[People]:
    """A and B take the check on an app whose one LRS is Ralph."""
    config = app_config(
        tmp_path, copy_database(seeded_sqlite, tmp_path), xapi={"lrs": [running_ralph.target()]}
    )
    app: Flask = create_app(config)
    with registered_flow(app) as flow:
        tokens = {}
        for persona, correct in ((LEARNER_A, 3), (LEARNER_B, 2)):
            tokens[persona.sub] = launch(flow, persona)
            take_a_check(flow, tokens[persona.sub], correct_items=correct)
        yield People(app, flow, flow.platform.issuer, tokens)
    app.extensions["plugin.db"].dispose()


def _worker(people: People) -> None:
    result = people.cli("xapi", "worker", "--once")
    assert result.exit_code == 0, result.output


def test_ralph_holds_a_voiding_statement_for_each_statement_about_the_erased_person(
    ralph_people: People,
    running_ralph: RalphServer,
) -> None:
    people = ralph_people
    _worker(people)
    rows = people.rows(OutboxStatement)
    assert rows and all(row.status == DELIVERED and row.target == TARGET for row in rows)
    b_key, a_key = (person_key(people.issuer, p.sub) for p in (LEARNER_B, LEARNER_A))
    b_ids = {row.statement_id for row in rows if row.person_key == b_key}
    a_ids = {row.statement_id for row in rows if row.person_key == a_key}
    assert b_ids and a_ids
    assert set(running_ralph.id_counts(b_ids)) == b_ids

    people.erase(LEARNER_B)
    _worker(people)

    voiding = [s for s in running_ralph.stored_statements() if s["verb"]["id"] == VOIDED]
    voided = [s["object"]["id"] for s in voiding if s["object"]["id"] in b_ids | a_ids]
    assert sorted(voided) == sorted(b_ids)  # each once, and none of A's
    for statement in voiding:
        if statement["object"]["id"] in b_ids:
            assert statement["object"]["objectType"] == "StatementRef"
            assert LEARNER_B.sub not in str(statement)
            assert statement["actor"]["account"]["name"] == "personal-data-erasure"
    assert all(row.status == DELIVERED for row in people.rows(OutboxStatement))
