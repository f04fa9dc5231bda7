"""On PostgreSQL: commits from two tabs at once keep the newest data (the SCO's row is locked
while a commit compares sequence numbers; the first row is made once even under a race)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.competencies.models import Module
from plugin.content.cmi import read_commit
from plugin.content.models import PackageVersion
from plugin.content.runtime import commit, find_item
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.lti.models import Person
from tests.content.packages import scorm12

pytestmark = pytest.mark.postgres


def an_attempt(app: Flask, tmp_path: Path) -> int:
    """A learner's attempt on a SCORM 1.2 module's first version."""
    runner = app.test_cli_runner()
    created = runner.invoke(args=["content", "import", str(scorm12(tmp_path / "a.zip"))])
    assert created.exit_code == 0, created.output
    key = created.output.split("\t")[0]
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == key)).one()
        person = Person(issuer="https://lms.example.edu", sub="learner-pg")
        session.add(person)
        session.flush()
        attempt = RuntimeAttempt(
            registration="00000000-0000-4000-8000-000000000001",
            person_id=person.id,
            module_id=module.id,
            version_id=session.scalars(
                select(PackageVersion.id).where(PackageVersion.module_id == module.id)
            ).one(),
            launch_id="none",
        )
        session.add(attempt)
        session.flush()
        return attempt.id


def send(app: Flask, attempt_id: int, seq: int, where: str, barrier: threading.Barrier) -> None:
    """One tab's commit, in a transaction of its own."""
    with app.extensions["plugin.db"].session_scope() as session:
        attempt = session.get_one(RuntimeAttempt, attempt_id)
        item = find_item(attempt, "item-1")
        assert item is not None
        values = read_commit("1.2", {"cmi.core.lesson_location": where})
        barrier.wait()
        commit(session, attempt, item, seq, values, final=False)


def test_two_tabs_committing_at_once_keep_the_newest_data(pg_app: Flask, tmp_path: Path) -> None:
    attempt_id = an_attempt(pg_app, tmp_path)
    for round_ in range(3):
        barrier = threading.Barrier(2)
        newer, older = 10 * round_ + 2, 10 * round_ + 1
        tabs = [
            threading.Thread(
                target=send, args=(pg_app, attempt_id, older, f"old{round_}", barrier)
            ),
            threading.Thread(
                target=send, args=(pg_app, attempt_id, newer, f"new{round_}", barrier)
            ),
        ]
        for tab in tabs:
            tab.start()
        for tab in tabs:
            tab.join(timeout=30)
        with pg_app.extensions["plugin.db"].session_scope() as session:
            state = session.scalars(select(ScoState)).one()
            assert (state.seq, state.location) == (newer, f"new{round_}")
