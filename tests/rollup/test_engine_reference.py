"""The engine's item result equals a plain reading of the published formula (README "Roll-up",
engine docstring), for every method, on random chains: one point, ties in time, failures,
levels 0 to 3. The reading below is written from the definitions, never from the engine's code:
it imports none of the engine's functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from plugin.rollup.engine import (
    METHODS,
    ItemResult,
    Point,
    RollupConfig,
    item_result,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def plain_method(scores: list[float], config: RollupConfig) -> float | None:
    """The README's definition of each method over scores in observation order, kept to ten
    decimal places (so float noise never decides a level at the threshold)."""
    if not scores:
        return None
    w = config.decay_weight
    if config.method == "highest":
        result = max(scores)
    elif config.method == "latest":
        result = scores[-1]
    elif config.method == "average":
        result = sum(scores) / len(scores)
    elif config.method == "n_mastery":
        # the mean of the scores at or above mastery, once there are n of them
        mastered = [s for s in scores if s >= config.mastery_threshold]
        if len(mastered) < config.n_mastery:
            return None
        result = sum(mastered) / len(mastered)
    elif config.method == "weighted_average":
        # w·latest + (1 − w)·mean of the earlier ones; one score is itself
        *earlier, latest = scores
        result = w * latest + (1 - w) * sum(earlier) / len(earlier) if earlier else latest
    else:
        # decaying: D1 = s1, Dk = w·sk + (1 − w)·D(k−1)
        result = scores[0]
        for score in scores[1:]:
            result = w * score + (1 - w) * result
    return round(result, 10)


def reference(points: list[Point], config: RollupConfig) -> ItemResult:
    """value = method over all evidence in observation order; level = the largest L whose
    evidence at level >= L reaches mastery by the method; the evidence in that order."""
    chain = sorted(points, key=lambda p: (p.observed_at, p.source_id, p.evidence_id))
    if not chain:
        return ItemResult(None, 0, ())
    level = 0
    for candidate in sorted({p.level for p in chain if p.level >= 1}, reverse=True):
        reached = plain_method([p.score for p in chain if p.level >= candidate], config)
        if reached is not None and reached >= config.mastery_threshold:
            level = candidate
            break
    value = plain_method([p.score for p in chain], config)
    return ItemResult(value, level, tuple(p.evidence_id for p in chain))


def random_chain(rng: random.Random) -> list[Point]:
    size = rng.choice((0, 1, 1, 1, 2, 3, 5, 12))
    return [
        Point(
            evidence_id=f"e{rng.randrange(10**6)}-{n}",
            level=rng.randint(0, 3),
            score=rng.choice((0.0, 1.0, round(rng.random(), 2))),
            observed_at=START + timedelta(hours=rng.randrange(4)),  # ties are common
            source_id=f"s{rng.randrange(50)}",
        )
        for n in range(size)
    ]


@pytest.mark.parametrize("method", METHODS)
def test_item_result_equals_the_formula_read_plainly(method: str) -> None:
    rng = random.Random(method)
    for _ in range(2000):
        config = RollupConfig(
            method=method,
            decay_weight=rng.choice((0.65, 0.3, 1.0)),
            n_mastery=rng.choice((1, 2, 3)),
            mastery_threshold=rng.choice((0.0, 0.6, 0.9, 1.0)),
        )
        chain = random_chain(rng)
        shuffled = rng.sample(chain, len(chain))
        assert item_result(shuffled, config) == reference(chain, config), (chain, config)
