"""A learner B with launches, an attempt, evidence, attainment, statements and a grade; A,
a designer and an administrator beside them (the hardening walk's personas)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.authz import ADMIN, DESIGNER, LEARNER_A, LEARNER_B, launch, take_a_check
from tests.support.flows import Flow
from tests.support.people import People


@pytest.fixture
def people(flow: Flow, app: Flask) -> People:
    """A and B each take the check (A passes, B fails); a designer and an admin launch."""
    tokens = {}
    tokens[LEARNER_A.sub] = launch(flow, LEARNER_A)
    take_a_check(flow, tokens[LEARNER_A.sub], correct_items=3)
    tokens[LEARNER_B.sub] = launch(flow, LEARNER_B)
    take_a_check(flow, tokens[LEARNER_B.sub], correct_items=2)
    for persona in (DESIGNER, ADMIN):
        tokens[persona.sub] = launch(flow, persona)
    return People(app, flow, flow.platform.issuer, tokens)
