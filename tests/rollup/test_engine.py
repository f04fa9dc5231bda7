"""The published formula (plugin/rollup/engine.py): Canvas's worked example, the level rule,
and properties that hold for any evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.rollup.engine import METHODS, Point, RollupConfig, competency_level, item_result

START = datetime(2026, 1, 1, tzinfo=UTC)
CANVAS = (0.2, 0.4, 0.6, 0.8, 1.0)


def points(scores: tuple[float, ...], level: int = 1) -> list[Point]:
    return [
        Point(f"e{i}", level, s, START + timedelta(days=i), f"s{i}") for i, s in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("weighted_average", 0.825),
        ("decaying_average", 0.89392),
        ("n_mastery", 0.8),
        ("highest", 1.0),
        ("latest", 1.0),
        ("average", 0.6),
    ],
)
def test_canvas_worked_example_for_every_method(method: str, expected: float) -> None:
    config = RollupConfig(method=method, decay_weight=0.65, n_mastery=3, mastery_threshold=0.6)
    result = item_result(points(CANVAS), config)
    assert result.value == pytest.approx(expected, abs=1e-4)
    assert result.evidence == ("e0", "e1", "e2", "e3", "e4")


def test_n_mastery_needs_n_scores_at_mastery() -> None:
    config = RollupConfig(method="n_mastery", n_mastery=3, mastery_threshold=0.6)
    assert item_result(points((0.9, 0.7, 0.1)), config).value is None


def test_level_is_the_highest_level_whose_evidence_reaches_mastery() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    chain = [*points((0.9, 0.8), level=1), Point("x", 2, 0.3, START + timedelta(days=9), "sx")]
    # At ≥ 2 only 0.3 (below mastery); at ≥ 1 the mean 0.667 reaches it.
    assert item_result(chain, config).level == 1


def test_failures_lower_the_level() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    passed = points((1.0,), level=2)
    assert item_result(passed, config).level == 2
    failed = [*passed, Point("f", 2, 0.0, START + timedelta(days=3), "sf")]
    assert item_result(failed, config).level == 0


def test_competency_rule_all_takes_the_lowest_indicator() -> None:
    config = RollupConfig(competency_rule="all")
    assert competency_level({"DC1-K1": 2, "DC1-K2": 1, "DC1-S1": 3}, None, config) == 1
    assert competency_level({"DC1-K1": 2, "DC1-K2": 0}, None, config) == 0


def test_competency_rule_points_with_required_indicator() -> None:
    config = RollupConfig(
        competency_rule="points",
        points_per_level=(1, 2, 3),
        points_needed=(2, 4, 9),
        required_indicators=("DC1-K1",),
    )
    # Level 1: 1+2+0 ≥ 2 with K1 ≥ 1; level 2: only K2 is at ≥ 2 (2 points < 4).
    assert competency_level({"DC1-K1": 1, "DC1-K2": 2, "DC1-S1": 0}, None, config) == 1
    assert competency_level({"DC1-K1": 0, "DC1-K2": 3, "DC1-S1": 3}, None, config) == 0


evidence = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3),
        st.floats(min_value=0, max_value=1, allow_nan=False),
        st.integers(min_value=0, max_value=30),
    ),
    min_size=1,
    max_size=8,
)


def as_points(rows: list[tuple[int, float, int]]) -> list[Point]:
    return [
        Point(f"e{i}", lvl, s, START + timedelta(days=d), f"s{i}")
        for i, (lvl, s, d) in enumerate(rows)
    ]


@settings(max_examples=60, deadline=None)
@given(rows=evidence, method=st.sampled_from(METHODS), data=st.data())
def test_any_arrival_order_gives_the_same_result(rows, method, data) -> None:
    config = RollupConfig(method=method, n_mastery=2)
    chain = as_points(rows)
    shuffled = data.draw(st.permutations(chain))
    assert item_result(shuffled, config) == item_result(chain, config)
    assert item_result(chain, config) == item_result(list(chain), config)  # determinism


@settings(max_examples=80, deadline=None)
@given(rows=evidence, method=st.sampled_from(METHODS), level=st.integers(1, 3))
def test_a_new_perfect_score_never_lowers_the_level(rows, method, level) -> None:
    # A 1.0 observed after everything else at level L leaves the chains of levels > L alone,
    # and on every chain it joins the value cannot fall: highest/average/n_mastery trivially;
    # latest becomes 1.0; decaying: w·1 + (1−w)·D ≥ D; weighted: the change is
    # w(1−sₙ) − (1−w)(mean−sₙ)/n ≥ (1−sₙ)(w − (1−w)/n) ≥ 0 whenever w ≥ 1/2 (default 0.65).
    config = RollupConfig(method=method, n_mastery=2)
    chain = as_points(rows)
    before = item_result(chain, config).level
    later = START + timedelta(days=31)
    after = item_result([*chain, Point("new", level, 1.0, later, "snew")], config).level
    assert after >= before
    if method in ("highest", "latest"):
        assert after >= level  # the 1.0 alone decides these at level L
