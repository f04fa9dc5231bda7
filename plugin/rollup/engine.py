"""Evidence → attainment, in pure Python (no database, no Flask): the published formula.

Methods as Canvas Outcomes defines them, over an item's scores ordered by observed time
(ties by source id): highest, latest, average, n_mastery, weighted_average, decaying_average.

- value(item)   = the method over all of the item's evidence;
- level(item)   = the largest L such that the method over the evidence at level ≥ L reaches
                  the mastery threshold; 0 if none;
- level(competency) = "all": the lowest level of its indicators; "points": Moodle's rule
                  (points per indicator at a level, required indicators); evidence tagged at
                  the competency itself gives a direct level, and the higher of the two counts.

Failures count (a failure scores 0). The result does not depend on arrival order, and every
result lists the evidence it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

METHODS = (
    "highest",
    "latest",
    "average",
    "n_mastery",
    "weighted_average",
    "decaying_average",
)
COMPETENCY_RULES = ("all", "points")


@dataclass(frozen=True)
class RollupConfig:
    """The ``[rollup]`` settings."""

    method: str = "weighted_average"
    decay_weight: float = 0.65
    n_mastery: int = 3
    mastery_threshold: float = 0.6
    competency_rule: str = "all"
    # "points" rule: points an indicator earns at each level, and the points a level needs.
    points_per_level: tuple[int, ...] = (1, 2, 3)
    points_needed: tuple[int, ...] = ()
    required_indicators: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The ranges the formula is defined for (README "Roll-up"); the [rollup] settings are
        # checked the same way at start-up, this guards every other caller. decay_weight = 0
        # would ignore every score after the first, so it is refused rather than accepted.
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; one of {', '.join(METHODS)}")
        if self.competency_rule not in COMPETENCY_RULES:
            rules = ", ".join(COMPETENCY_RULES)
            raise ValueError(f"unknown competency_rule {self.competency_rule!r}; one of {rules}")
        if not 0 < self.decay_weight <= 1:
            raise ValueError(f"decay_weight must be in (0, 1], got {self.decay_weight}")
        if self.n_mastery < 1:
            raise ValueError(f"n_mastery must be at least 1, got {self.n_mastery}")
        if not 0 <= self.mastery_threshold <= 1:
            raise ValueError(f"mastery_threshold must be in [0, 1], got {self.mastery_threshold}")
        if not self.points_per_level:
            # The points rule reads the list's last entry for every level above it.
            raise ValueError("points_per_level must list at least one number")


# Point and ItemResult are immutable named tuples rather than frozen dataclasses: a full
# recompute makes one per evidence row and per item, and a tuple is built at half the cost.


class Point(NamedTuple):
    """One piece of evidence for one item."""

    evidence_id: str
    level: int
    score: float
    observed_at: datetime
    source_id: str = ""


class ItemResult(NamedTuple):
    """An item's value and level, and the evidence behind them."""

    value: float | None
    level: int
    evidence: tuple[str, ...] = ()


_OBSERVATION_ORDER = attrgetter("observed_at", "source_id", "evidence_id")


def ordered(points: Iterable[Point]) -> list[Point]:
    """Evidence in observation order; ties by source id, then evidence id (deterministic)."""
    return sorted(points, key=_OBSERVATION_ORDER)


def _highest(scores: Sequence[float], _config: RollupConfig) -> float | None:
    return max(scores)


def _latest(scores: Sequence[float], _config: RollupConfig) -> float | None:
    return scores[-1]


def _average(scores: Sequence[float], _config: RollupConfig) -> float | None:
    return sum(scores) / len(scores)


def _n_mastery(scores: Sequence[float], config: RollupConfig) -> float | None:
    # Canvas: the mean of the scores at or above mastery, once there are n of them.
    mastered = [s for s in scores if s >= config.mastery_threshold]
    if len(mastered) < config.n_mastery:
        return None
    return sum(mastered) / len(mastered)


def _weighted_average(scores: Sequence[float], config: RollupConfig) -> float | None:
    # Canvas: w·latest + (1 − w)·mean(all earlier); a single score is itself.
    if len(scores) == 1:
        return scores[0]
    earlier = scores[:-1]
    weight = config.decay_weight
    return weight * scores[-1] + (1 - weight) * (sum(earlier) / len(earlier))


def _decaying_average(scores: Sequence[float], config: RollupConfig) -> float | None:
    # Canvas: D1 = s1, Dk = w·sk + (1 − w)·D(k−1).
    weight = config.decay_weight
    value = scores[0]
    for score in scores[1:]:
        value = weight * score + (1 - weight) * value
    return value


METHOD_FUNCTIONS: dict[str, Callable[[Sequence[float], RollupConfig], float | None]] = {
    "highest": _highest,
    "latest": _latest,
    "average": _average,
    "n_mastery": _n_mastery,
    "weighted_average": _weighted_average,
    "decaying_average": _decaying_average,
}


def method_value(scores: Sequence[float], config: RollupConfig) -> float | None:
    """The configured method over scores already in observation order; None when empty."""
    if not scores:
        return None
    value = METHOD_FUNCTIONS[config.method](scores, config)
    return None if value is None else round(value, 10)


def item_result(points: Iterable[Point], config: RollupConfig) -> ItemResult:
    """value and level of one item from its evidence (in any order)."""
    chain = list(points)
    if not chain:
        return ItemResult(value=None, level=0)
    if len(chain) == 1:  # most items of most people: the loop below, unrolled
        only = chain[0]
        value = method_value([only.score], config)
        reached = only.level >= 1 and value is not None and value >= config.mastery_threshold
        return ItemResult(value=value, level=only.level if reached else 0,
                          evidence=(only.evidence_id,))  # fmt: skip
    chain = ordered(chain)
    scores = [p.score for p in chain]
    value = method_value(scores, config)
    levels = sorted({p.level for p in chain}, reverse=True)
    level = 0
    for candidate in levels:
        if candidate < 1:
            break
        if candidate == levels[-1]:  # every point is at or above it: the chain's own value
            at_level = value
        else:
            at_level = method_value([p.score for p in chain if p.level >= candidate], config)
        if at_level is not None and at_level >= config.mastery_threshold:
            level = candidate
            break
    return ItemResult(value=value, level=level, evidence=tuple([p.evidence_id for p in chain]))


def competency_level(
    indicator_levels: Mapping[str, int],
    direct: ItemResult | None,
    config: RollupConfig,
    scale_levels: int = 3,
) -> int:
    """A competency's level from its indicators' levels (by rule) and its own evidence."""
    from_indicators = 0
    if indicator_levels:
        if config.competency_rule == "all":
            from_indicators = min(indicator_levels.values())
        else:
            from_indicators = _points_level(indicator_levels, config, scale_levels)
    direct_level = direct.level if direct is not None else 0
    return max(from_indicators, direct_level)


def _points_level(levels: Mapping[str, int], config: RollupConfig, scale_levels: int) -> int:
    """Moodle's points rule: level L when the indicators' points reach the points L needs
    and every required indicator is at L or above."""
    best = 0
    for level in range(1, scale_levels + 1):
        points = sum(
            config.points_per_level[min(lvl, len(config.points_per_level)) - 1]
            for lvl in levels.values()
            if lvl >= level
        )
        needed = (
            config.points_needed[level - 1]
            if level - 1 < len(config.points_needed)
            else len(levels) * config.points_per_level[min(level, len(config.points_per_level)) - 1]
        )
        required_ok = all(levels.get(code, 0) >= level for code in config.required_indicators)
        if points >= needed and required_ok:
            best = level
    return best


def gap(target: int, attained: int) -> int:
    """How many levels short of the target (0 when reached)."""
    return max(0, target - attained)
