"""The published formula (README "Roll-up", docs/ARCHITECTURE.md §6) against answers worked out
by hand: each expected number has its arithmetic beside it, none comes from the engine. Every
comparison of the rules is tried on both sides of equality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugin.rollup.engine import (
    ItemResult,
    Point,
    RollupConfig,
    competency_level,
    gap,
    item_result,
    method_value,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def chain(scores: tuple[float, ...], level: int = 1) -> list[Point]:
    """One point per score, a day apart, in the order given."""
    return [
        Point(f"e{i}", level, s, START + timedelta(days=i), f"s{i}") for i, s in enumerate(scores)
    ]


def ladder(*scores: float) -> list[Point]:
    """One point a level from level 1 up, a day apart: evidence "a" (source "sa"), "b", …"""
    return [
        Point(name, i + 1, s, START + timedelta(days=i), f"s{name}")
        for i, (name, s) in enumerate(zip("abcdefgh", scores, strict=False))
    ]


def value(method: str, scores: tuple[float, ...], **settings: object) -> float | None:
    return item_result(chain(scores), RollupConfig(method=method, **settings)).value  # type: ignore[arg-type]


# --- Methods: Canvas's example at w = 0.65 ---------------------------------------------------

CANVAS = (0.2, 0.4, 0.6, 0.8, 1.0)


def test_weighted_average_of_canvas_example_at_065() -> None:
    # 0.65·1.0 + 0.35·mean(0.2, 0.4, 0.6, 0.8) = 0.65 + 0.35·0.5 = 0.65 + 0.175 = 0.825
    assert value("weighted_average", CANVAS, decay_weight=0.65) == 0.825


def test_decaying_average_of_canvas_example_at_065() -> None:
    # D1 = 0.2
    # D2 = 0.65·0.4 + 0.35·0.2      = 0.26 + 0.07        = 0.33
    # D3 = 0.65·0.6 + 0.35·0.33     = 0.39 + 0.1155      = 0.5055
    # D4 = 0.65·0.8 + 0.35·0.5055   = 0.52 + 0.176925    = 0.696925
    # D5 = 0.65·1.0 + 0.35·0.696925 = 0.65 + 0.24392375  = 0.89392375
    assert value("decaying_average", CANVAS, decay_weight=0.65) == 0.89392375


# --- Methods: a second example at w = 0.3, the latest score lower than the rest ---------------

SECOND = (0.9, 0.5, 0.7, 0.2)


def test_weighted_average_at_03() -> None:
    # 0.3·0.2 + 0.7·mean(0.9, 0.5, 0.7) = 0.06 + 0.7·0.7 = 0.06 + 0.49 = 0.55
    assert value("weighted_average", SECOND, decay_weight=0.3) == 0.55


def test_decaying_average_at_03() -> None:
    # D1 = 0.9
    # D2 = 0.3·0.5 + 0.7·0.9   = 0.15 + 0.63   = 0.78
    # D3 = 0.3·0.7 + 0.7·0.78  = 0.21 + 0.546  = 0.756
    # D4 = 0.3·0.2 + 0.7·0.756 = 0.06 + 0.5292 = 0.5892
    assert value("decaying_average", SECOND, decay_weight=0.3) == 0.5892


def test_two_scores_at_03_weigh_the_latest_by_w() -> None:
    # weighted: 0.3·0.0 + 0.7·mean(1.0) = 0.7; decaying: D2 = 0.3·0.0 + 0.7·1.0 = 0.7
    assert value("weighted_average", (1.0, 0.0), decay_weight=0.3) == 0.7
    assert value("decaying_average", (1.0, 0.0), decay_weight=0.3) == 0.7


def test_weight_one_keeps_only_the_latest_score() -> None:
    # w = 1: 1·0.2 + 0·(anything) = 0.2 for both averages
    assert value("weighted_average", SECOND, decay_weight=1.0) == 0.2
    assert value("decaying_average", SECOND, decay_weight=1.0) == 0.2


def test_a_single_score_is_its_own_value_for_every_method() -> None:
    for method in ("highest", "latest", "average", "weighted_average", "decaying_average"):
        assert value(method, (0.4,), decay_weight=0.3) == 0.4, method
    # n_mastery with n = 1: the one score at or above mastery (0.7 ≥ 0.6) is the mean
    assert value("n_mastery", (0.7,), n_mastery=1, mastery_threshold=0.6) == 0.7


def test_highest_latest_average_of_the_second_example() -> None:
    assert value("highest", SECOND) == 0.9
    assert value("latest", SECOND) == 0.2
    # (0.9 + 0.5 + 0.7 + 0.2) / 4 = 2.3 / 4 = 0.575
    assert value("average", SECOND) == 0.575


def test_latest_and_highest_are_not_the_first_score() -> None:
    # (0.3, 0.9, 0.5): highest 0.9 (the middle), latest 0.5 (the last)
    assert value("highest", (0.3, 0.9, 0.5)) == 0.9
    assert value("latest", (0.3, 0.9, 0.5)) == 0.5


def test_n_mastery_counts_scores_at_the_threshold_and_needs_n_of_them() -> None:
    # threshold 0.6: 0.9, 0.6 and 0.7 count (0.6 at equality), 0.5 does not;
    # n = 3: mean(0.9, 0.6, 0.7) = 2.2 / 3 = 0.7333333333 (10 decimals)
    scores = (0.9, 0.5, 0.6, 0.7)
    assert value("n_mastery", scores, n_mastery=3, mastery_threshold=0.6) == 0.7333333333
    # n = 4: only three scores reach mastery, so no value yet
    assert value("n_mastery", scores, n_mastery=4, mastery_threshold=0.6) is None
    # 0.5999 is just below 0.6: two scores count, n = 3 is not reached
    assert value("n_mastery", (0.9, 0.5999, 0.7), n_mastery=3, mastery_threshold=0.6) is None
    # n = 2: mean(0.9, 0.7) = 0.8
    assert value("n_mastery", (0.9, 0.5999, 0.7), n_mastery=2, mastery_threshold=0.6) == 0.8


def test_values_are_kept_to_ten_decimal_places() -> None:
    # 1/3 = 0.333333333333…; kept to ten places it is 0.3333333333
    assert method_value([1 / 3], RollupConfig(method="latest")) == 0.3333333333


def test_no_scores_give_no_value() -> None:
    for method in ("highest", "average", "weighted_average", "decaying_average"):
        assert method_value([], RollupConfig(method=method)) is None
    assert item_result([], RollupConfig()) == ItemResult(None, 0, ())


def test_evidence_is_listed_in_observation_order_ties_by_source_then_evidence_id() -> None:
    same_time = START + timedelta(days=1)
    points = [
        Point("e3", 1, 0.5, same_time, "s2"),
        Point("e2", 1, 0.5, same_time, "s1"),
        Point("e1", 1, 0.5, same_time, "s1"),
        Point("e0", 1, 0.5, START, "s9"),
    ]
    assert item_result(points, RollupConfig()).evidence == ("e0", "e1", "e2", "e3")


def test_latest_follows_observation_time_not_arrival() -> None:
    points = [Point("b", 1, 0.2, START + timedelta(days=2), "sb"), Point("a", 1, 0.9, START, "sa")]
    assert item_result(points, RollupConfig(method="latest")).value == 0.2


# --- Item level: mastery at equality, both sides -----------------------------------------------


def test_one_score_exactly_at_mastery_reaches_its_level() -> None:
    config = RollupConfig(method="latest", mastery_threshold=0.6)
    assert item_result(chain((0.6,), level=2), config) == ItemResult(0.6, 2, ("e0",))
    assert item_result(chain((0.5999,), level=2), config) == ItemResult(0.5999, 0, ("e0",))


def test_one_score_at_level_one_counts_and_at_level_zero_does_not() -> None:
    config = RollupConfig(method="latest", mastery_threshold=0.6)
    assert item_result(chain((1.0,), level=1), config).level == 1
    assert item_result(chain((1.0,), level=0), config).level == 0


def test_several_scores_exactly_at_mastery_reach_their_level() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    # mean(0.5, 0.7) = 1.2 / 2 = 0.6: at the threshold, level 3
    assert item_result(chain((0.5, 0.7), level=3), config).level == 3
    # mean(0.5, 0.6998) = 1.1998 / 2 = 0.5999: just below, level 0
    assert item_result(chain((0.5, 0.6998), level=3), config).level == 0


def test_level_uses_only_the_evidence_at_or_above_it() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    points = ladder(0.2, 0.6, 0.4)
    # level 3: mean(0.4) = 0.4 < 0.6; level 2: mean(0.6, 0.4) = 0.5 < 0.6;
    # level 1: mean(0.2, 0.6, 0.4) = 0.4 < 0.6 → level 0; value = 0.4
    assert item_result(points, config) == ItemResult(0.4, 0, ("a", "b", "c"))
    # with c at 0.6: level 3: mean(0.6) = 0.6 → level 3 (a level 2 point at 0.6 is at equality)
    raised = [*points[:2], points[2]._replace(score=0.6)]
    # value = mean(0.2, 0.6, 0.6) = 1.4 / 3 = 0.4666666667
    assert item_result(raised, config) == ItemResult(0.4666666667, 3, ("a", "b", "c"))


def test_level_two_when_the_level_three_evidence_falls_short() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    points = ladder(0.0, 0.9, 0.3)
    # level 3: mean(0.3) = 0.3 < 0.6; level 2: mean(0.9, 0.3) = 0.6 → level 2
    assert item_result(points, config).level == 2


def test_level_one_chain_over_level_zero_evidence() -> None:
    config = RollupConfig(method="average", mastery_threshold=0.6)
    points = [Point("z", 0, 0.0, START - timedelta(days=1), "sz"), *chain((0.6, 0.8), level=1)]
    # level 1: mean(0.6, 0.8) = 0.7 ≥ 0.6 → level 1; the level-0 point counts only in value:
    # value = mean(0.0, 0.6, 0.8) = 1.4 / 3 = 0.4666666667
    assert item_result(points, config) == ItemResult(0.4666666667, 1, ("z", "e0", "e1"))


def test_n_mastery_without_enough_scores_gives_no_level() -> None:
    config = RollupConfig(method="n_mastery", n_mastery=2, mastery_threshold=0.6)
    assert item_result(chain((0.9,), level=2), config) == ItemResult(None, 0, ("e0",))
    assert item_result(chain((0.9, 0.1), level=2), config) == ItemResult(None, 0, ("e0", "e1"))
    # two at mastery: mean(0.9, 0.6) = 0.75 → level 2
    assert item_result(chain((0.9, 0.6), level=2), config).level == 2


# --- Competency level: "all" and the points rule ------------------------------------------------


def test_all_rule_no_indicators_and_no_direct_evidence_is_level_zero() -> None:
    assert competency_level({}, None, RollupConfig()) == 0


def test_direct_evidence_counts_when_higher_than_the_indicators() -> None:
    config = RollupConfig(competency_rule="all")
    direct = ItemResult(0.9, 2, ("d",))
    assert competency_level({"K1": 1, "K2": 3}, direct, config) == 2  # max(min(1, 3), 2)
    assert competency_level({"K1": 3, "K2": 3}, direct, config) == 3  # max(3, 2)
    assert competency_level({}, direct, config) == 2


POINTS = {"competency_rule": "points", "points_per_level": (1, 2, 3)}


def test_points_at_equality_reach_the_level_one_point_short_does_not() -> None:
    # K1 at 2 earns 2 points, K2 at 1 earns 1, K3 at 0 earns nothing.
    # level 1: 2 + 1 = 3 points; level 2: K1 only, 2 points; level 3: none, 0 points.
    levels = {"K1": 2, "K2": 1, "K3": 0}
    exactly = RollupConfig(**POINTS, points_needed=(3, 2, 1))  # type: ignore[arg-type]
    assert competency_level(levels, None, exactly) == 2  # 3 ≥ 3, 2 ≥ 2, 0 < 1
    one_short = RollupConfig(**POINTS, points_needed=(4, 3, 1))  # type: ignore[arg-type]
    assert competency_level(levels, None, one_short) == 0  # 3 < 4, 2 < 3, 0 < 1


def test_an_indicator_at_the_level_counts_for_it() -> None:
    # K1 at exactly 3 earns 3 at level 3: 3 ≥ 3 → level 3 (an indicator *at* L counts for L).
    config = RollupConfig(**POINTS, points_needed=(1, 1, 3))  # type: ignore[arg-type]
    assert competency_level({"K1": 3, "K2": 0}, None, config) == 3
    # K1 at 2 earns nothing at level 3: 0 < 3 → level 2 (2 ≥ 1)
    assert competency_level({"K1": 2, "K2": 0}, None, config) == 2


def test_an_indicator_earns_the_points_of_its_own_level() -> None:
    # K1 at 1 earns points_per_level[0] = 1 (not 3): level 1 needs 2, 1 < 2 → 0
    config = RollupConfig(**POINTS, points_needed=(2, 9, 9))  # type: ignore[arg-type]
    assert competency_level({"K1": 1}, None, config) == 0
    # K1 at 1 and K2 at 1: 1 + 1 = 2 ≥ 2 → level 1
    assert competency_level({"K1": 1, "K2": 1}, None, config) == 1


def test_default_points_needed_is_every_indicator_at_the_level() -> None:
    # No points_needed: level L needs (indicators) × points_per_level[L]:
    # three indicators → level 1: 3·1 = 3, level 2: 3·2 = 6, level 3: 3·3 = 9.
    config = RollupConfig(**POINTS)  # type: ignore[arg-type]
    # K1, K2 at 3 earn 3 each: level 1: 6 ≥ 3; level 2: 6 ≥ 6 (equality); level 3: 6 < 9 → 2
    assert competency_level({"K1": 3, "K2": 3, "K3": 0}, None, config) == 2
    # K1 at 3, K2 at 2: level 2: 3 + 2 = 5 < 6; level 1: 5 ≥ 3 → 1
    assert competency_level({"K1": 3, "K2": 2, "K3": 0}, None, config) == 1
    # all three at 3: 9 ≥ 9 → 3
    assert competency_level({"K1": 3, "K2": 3, "K3": 3}, None, config) == 3
    # K1 at 1 only: level 1: 1 < 3 → 0
    assert competency_level({"K1": 1, "K2": 0, "K3": 0}, None, config) == 0


def test_default_points_needed_with_fewer_points_than_levels() -> None:
    # points_per_level (1, 2): a level above the list uses its last entry. Two indicators:
    # level 1 needs 2·1 = 2, level 2 needs 2·2 = 4, level 3 needs 2·2 = 4.
    # K1 at 3 and K2 at 3 earn 2 each: 4 ≥ 4 at every level → 3.
    config = RollupConfig(competency_rule="points", points_per_level=(1, 2))
    assert competency_level({"K1": 3, "K2": 3}, None, config) == 3
    # K1 at 3, K2 at 2: level 3: 2 < 4; level 2: 2 + 2 = 4 ≥ 4 → 2
    assert competency_level({"K1": 3, "K2": 2}, None, config) == 2


def test_points_needed_shorter_than_the_scale_falls_back_to_the_default() -> None:
    # points_needed (1,): level 1 needs 1; levels 2 and 3 use the default, 2·2 = 4 and 2·3 = 6.
    config = RollupConfig(**POINTS, points_needed=(1,))  # type: ignore[arg-type]
    # K1 at 3 earns 3: level 1: 3 ≥ 1; level 2: 3 < 4; → 1
    assert competency_level({"K1": 3, "K2": 0}, None, config) == 1
    # K1, K2 at 2 earn 2 each: level 2: 4 ≥ 4 → 2; level 3: 0 < 6
    assert competency_level({"K1": 2, "K2": 2}, None, config) == 2


def test_each_listed_points_needed_is_used_for_its_own_level() -> None:
    # points_needed (1, 1, 1) is far below the default (2, 4, 6 for two indicators):
    # K1 at 3 earns 3 ≥ 1 at every level → 3 (the default would give 1: 3 < 4).
    config = RollupConfig(**POINTS, points_needed=(1, 1, 1))  # type: ignore[arg-type]
    assert competency_level({"K1": 3, "K2": 0}, None, config) == 3


def test_points_needed_beyond_the_scale_are_ignored() -> None:
    # A fourth entry of 0 would grant a level 4 that the three-level scale does not have.
    config = RollupConfig(**POINTS, points_needed=(1, 1, 1, 0))  # type: ignore[arg-type]
    assert competency_level({"K1": 3}, None, config) == 3
    assert competency_level({"K1": 3}, None, config, scale_levels=2) == 2


def test_a_required_indicator_below_the_level_holds_the_competency_back() -> None:
    # Points alone: K2 at 3 earns 3 ≥ 1 at every level → 3. K1 is required:
    config = RollupConfig(**POINTS, points_needed=(1, 1, 1), required_indicators=("K1",))  # type: ignore[arg-type]
    assert competency_level({"K1": 1, "K2": 3}, None, config) == 1  # K1 at 1: level 1 only
    assert competency_level({"K1": 2, "K2": 3}, None, config) == 2  # K1 at 2 = level 2
    assert competency_level({"K1": 0, "K2": 3}, None, config) == 0


def test_a_missing_required_indicator_counts_as_level_zero() -> None:
    # K9 is required but has no level at all: no level can be reached, however many points.
    config = RollupConfig(**POINTS, points_needed=(1, 1, 1), required_indicators=("K9",))  # type: ignore[arg-type]
    assert competency_level({"K1": 3, "K2": 3}, None, config) == 0


# --- Gap -------------------------------------------------------------------------------------


def test_gap_is_the_levels_still_missing_and_never_negative() -> None:
    assert gap(3, 1) == 2  # 3 − 1
    assert gap(2, 0) == 2  # 2 − 0
    assert gap(2, 2) == 0  # reached exactly
    assert gap(1, 3) == 0  # above the target: no gap, not −2
    assert gap(0, 0) == 0


# --- RollupConfig: the ranges the formula is defined for ----------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"decay_weight": 1.0},
        {"decay_weight": 0.01},
        {"n_mastery": 1},
        {"mastery_threshold": 0.0},
        {"mastery_threshold": 1.0},
        {"points_per_level": (1,)},
    ],
)
def test_config_accepts_the_edges_of_each_range(settings: dict[str, object]) -> None:
    RollupConfig(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # w = 0 would ignore every new score: weighted/decaying would freeze at the first.
        ({"decay_weight": 0}, r"^decay_weight must be in \(0, 1\], got 0$"),
        ({"decay_weight": -0.1}, r"^decay_weight must be in \(0, 1\], got -0.1$"),
        ({"decay_weight": 1.01}, r"^decay_weight must be in \(0, 1\], got 1.01$"),
        ({"decay_weight": float("nan")}, r"^decay_weight must be in \(0, 1\], got nan$"),
        ({"n_mastery": 0}, r"^n_mastery must be at least 1, got 0$"),
        ({"mastery_threshold": -0.01}, r"^mastery_threshold must be in \[0, 1\], got -0.01$"),
        ({"mastery_threshold": 1.01}, r"^mastery_threshold must be in \[0, 1\], got 1.01$"),
        ({"points_per_level": ()}, r"^points_per_level must list at least one number$"),
        (
            {"method": "median"},
            r"^unknown method 'median'; one of highest, latest, average, n_mastery, "
            r"weighted_average, decaying_average$",
        ),
        ({"competency_rule": "any"}, r"^unknown competency_rule 'any'; one of all, points$"),
    ],
)
def test_config_refuses_values_outside_the_formula_naming_the_setting(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RollupConfig(**settings)  # type: ignore[arg-type]
