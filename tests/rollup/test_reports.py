"""The heat maps' building blocks in plugin.rollup.reports, used without a request."""

from __future__ import annotations

from plugin.competencies.models import Framework, Item, Level, Scale
from plugin.rollup.reports import (
    DEFAULT_TOP_LEVEL,
    HeatRow,
    column_groups,
    heat_counts,
    top_level,
)


def framework_with(scale_key: str, numbers: list[int]) -> Framework:
    return Framework(
        key="f", scales=[Scale(key=scale_key, levels=[Level(number=n) for n in numbers])]
    )


def test_the_top_level_is_the_report_scale_highest() -> None:
    assert top_level(framework_with("report", [1, 2, 3, 4, 5])) == 5


def test_without_a_report_scale_the_top_level_is_three() -> None:
    assert top_level(framework_with("check", [1, 2, 3, 4, 5])) == DEFAULT_TOP_LEVEL
    assert top_level(framework_with("report", [0])) == DEFAULT_TOP_LEVEL


def test_heat_counts_count_people_at_or_above_each_level() -> None:
    k1, k2 = Item(code="K1", kind="knowledge"), Item(code="K2", kind="knowledge")
    rows = [
        HeatRow("a", "1", 1, {"K1": 3}),
        HeatRow("b", "2", 2, {"K1": 1, "K2": 2}),
        HeatRow("c", "3", None),
    ]

    assert heat_counts(rows, [k1, k2], 3) == {"K1": [2, 1, 1], "K2": [1, 1, 0]}


def test_columns_group_under_their_competency_and_attitudes_under_none() -> None:
    competency = Item(code="C1", kind="competency")
    k1 = Item(code="K1", kind="knowledge", parent=competency)
    s1 = Item(code="S1", kind="skill", parent=competency)
    attitude = Item(code="A1", kind="attitude")

    assert column_groups([k1, s1, attitude]) == [(competency, 2), (None, 1)]
