"""The roll-up engine's configuration, read from the ``[rollup]`` settings."""

from __future__ import annotations

from typing import Any

from plugin.rollup.engine import RollupConfig


def rollup_config(settings_rollup: Any) -> RollupConfig:
    """The engine's config from the ``[rollup]`` settings."""
    return RollupConfig(
        method=settings_rollup.method,
        decay_weight=settings_rollup.decay_weight,
        n_mastery=settings_rollup.n_mastery,
        mastery_threshold=settings_rollup.mastery_threshold,
        competency_rule=settings_rollup.competency_rule,
        points_per_level=tuple(settings_rollup.points_per_level),
        points_needed=tuple(settings_rollup.points_needed),
        required_indicators=tuple(settings_rollup.required_indicators),
    )
