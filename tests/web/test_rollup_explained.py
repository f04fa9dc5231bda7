"""The map's sentences on the roll-up rule say the rule the settings put in force."""

from __future__ import annotations

from flask import Flask

from plugin.core.config import RollupSettings
from plugin.web.rollup_explained import explain_rollup

NAMES = {0: "Not yet Foundation", 1: "Foundation", 2: "Intermediate", 3: "Advanced"}


def explained(app: Flask, settings: RollupSettings) -> tuple[str, str]:
    with app.test_request_context("/?lang=en"):
        found = explain_rollup(settings, NAMES)
    return found.indicator, found.competency


def test_the_default_rule_says_all_indicators_and_the_weighted_average_in_percent(
    app: Flask,
) -> None:
    indicator, competency = explained(app, RollupSettings())
    # weighted_average with w = 0.65: 65 % the latest, 35 % the earlier ones; mastery 0.6.
    assert "65% of the latest score plus 35% of the average of the earlier ones" in indicator
    assert "is at least 60%" in indicator
    assert "only when all of its indicators have reached it" in competency
    assert "points" not in competency


def test_each_method_is_named_with_its_own_numbers(app: Flask) -> None:
    expected = {
        "highest": "the highest score of its evidence",
        "latest": "the latest score of its evidence",
        "average": "the average of all scores of its evidence",
        "n_mastery": "at or above the mastery threshold, once there are 4 of them",
        "decaying_average": "a decaying average of its scores (each new score counts 30%)",
    }
    for method, phrase in expected.items():
        settings = RollupSettings(method=method, n_mastery=4, decay_weight=0.3)  # type: ignore[arg-type]
        assert phrase in explained(app, settings)[0], method


def test_the_points_rule_lists_points_per_level_what_each_level_needs_and_the_required(
    app: Flask,
) -> None:
    settings = RollupSettings(
        competency_rule="points",
        points_per_level=(1, 2),
        points_needed=(4, 8),
        required_indicators=("DC1-K1", "DC1-S1"),
    )
    competency = explained(app, settings)[1]
    # Level 3 earns the list's last entry (2); no third "needed" entry: every indicator's points.
    assert "(Foundation 1, Intermediate 2, Advanced 2)" in competency
    assert (
        "(Foundation 4, Intermediate 8, Advanced: the points of all of its indicators)"
        in competency
    )
    assert "must always be at the level: DC1-K1, DC1-S1." in competency
