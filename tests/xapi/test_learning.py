"""Which statement of a finished attempt step is its evidence, read without Flask."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from plugin.xapi.learning import attempt_evidence
from plugin.xapi.vocabulary import VERBS


def statement(verb: str, statement_id: str, scaled: float | None = None) -> dict[str, Any]:
    made: dict[str, Any] = {
        "id": statement_id,
        "verb": {"id": VERBS[verb][0]},
        "timestamp": "2026-03-01T08:30:00Z",
    }
    if scaled is not None:
        made["result"] = {"score": {"scaled": scaled}}
    return made


def test_a_judged_statement_is_the_evidence_with_its_own_score() -> None:
    found = attempt_evidence(
        [statement("completed", "c-1"), statement("passed", "p-1", scaled=0.8)], scaled=0.5
    )

    assert found is not None
    assert (found.statement_id, found.score) == ("p-1", 0.8)
    assert found.observed_at == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_a_failed_check_is_evidence_too() -> None:
    found = attempt_evidence([statement("failed", "f-1", scaled=0.2)], scaled=0.2)

    assert found is not None
    assert (found.statement_id, found.score) == ("f-1", 0.2)


def test_completion_without_a_check_counts_as_full_score() -> None:
    found = attempt_evidence([statement("completed", "c-1")], scaled=None)

    assert found is not None
    assert (found.statement_id, found.score) == ("c-1", 1.0)


def test_completion_after_a_check_without_mastery_keeps_the_check_score() -> None:
    found = attempt_evidence([statement("completed", "c-1")], scaled=0.4)

    assert found is not None
    assert found.score == 0.4


def test_a_step_that_judged_and_completed_nothing_is_no_evidence() -> None:
    assert attempt_evidence([statement("progressed", "g-1")], scaled=None) is None
