"""Commits as scorm-again flattens them: an interaction's empty child lists come as ``{}``."""

from __future__ import annotations

import pytest

from plugin.content.cmi import CmiRefused, read_commit


@pytest.mark.parametrize(
    ("version", "response"), [("1.2", "student_response"), ("2004", "learner_response")]
)
def test_an_interactions_empty_child_lists_are_passed_over_and_its_fields_kept(
    version: str, response: str
) -> None:
    values = read_commit(
        version,
        {
            "cmi.objectives": {},
            "cmi.interactions.0.id": "q1",
            "cmi.interactions.0.type": "choice",
            f"cmi.interactions.0.{response}": "b",
            "cmi.interactions.0.objectives": {},
            "cmi.interactions.0.correct_responses": {},
        },
    )

    assert values.interactions == [{"id": "q1", "type": "choice", response: "b"}]


def test_a_child_list_with_content_in_one_element_is_still_refused() -> None:
    with pytest.raises(CmiRefused) as refused:
        read_commit("1.2", {"cmi.interactions.0.objectives": {"0": {"id": "x"}}})

    assert refused.value.element == "cmi.interactions.0.objectives"
