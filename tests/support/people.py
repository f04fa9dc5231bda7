"""The launched people of the privacy tests (learners A and B, a designer, an administrator),
with what the operator's ``person`` commands say about each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.support.authz import Persona, learner_id_of
from tests.support.flows import Flow


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
