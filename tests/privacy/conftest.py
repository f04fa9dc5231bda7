"""A learner B with launches, an attempt, evidence, attainment, statements and a grade; A,
a designer and an administrator beside them (the hardening walk's personas)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.lti.conftest import Flow, flow, platform, register, tool  # noqa: F401 (fixtures)
from tests.support.authz import (
    ADMIN,
    DESIGNER,
    LEARNER_A,
    LEARNER_B,
    Persona,
    launch,
    learner_id_of,
    take_a_check,
)


@dataclass
class People:
    """The launched people and their launch tokens."""

    app: Flask
    flow: Flow
    issuer: str
    tokens: dict[str, str]

    def token(self, persona: Persona) -> str:
        """``persona``'s launch token."""
        return self.tokens[persona.sub]

    def learner_id(self, persona: Persona) -> int:
        """``persona``'s roll-up learner id."""
        return learner_id_of(self.app, self.issuer, persona.sub)

    def cli(self, *args: str) -> Any:
        """Run ``flask --app plugin <args>``; the click result."""
        return self.app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)

    def export(self, persona: Persona) -> dict[str, Any]:
        """``person export`` of ``persona``, parsed."""
        result = self.cli("person", "export", "--issuer", self.issuer, "--sub", persona.sub)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def erase(self, persona: Persona) -> str:
        """``person erase --yes`` of ``persona``; its output."""
        result = self.cli("person", "erase", "--issuer", self.issuer, "--sub", persona.sub, "--yes")
        assert result.exit_code == 0, result.output
        return result.output

    def rows(self, model: Any) -> list[Any]:
        """Every row of ``model``'s table."""
        with self.app.extensions["plugin.db"].session_scope() as session:
            found = list(session.scalars(select(model)))
            session.expunge_all()
            return found


@pytest.fixture
def people(flow: Flow, app: Flask) -> People:  # noqa: F811 (flow: a fixture)
    """A and B each take the check (A passes, B fails); a designer and an admin launch."""
    tokens = {}
    tokens[LEARNER_A.sub] = launch(flow, LEARNER_A)
    take_a_check(flow, tokens[LEARNER_A.sub], correct_items=3)
    tokens[LEARNER_B.sub] = launch(flow, LEARNER_B)
    take_a_check(flow, tokens[LEARNER_B.sub], correct_items=2)
    for persona in (DESIGNER, ADMIN):
        tokens[persona.sub] = launch(flow, persona)
    return People(app, flow, flow.platform.issuer, tokens)
