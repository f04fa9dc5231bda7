"""The roll-up rule in force, in one sentence each for indicators and competencies, read
from the ``[rollup]`` settings so that the map explains the rule it was computed by
(docs/ARCHITECTURE.md §6; plugin/rollup/engine.py)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from plugin.core.config import RollupSettings


@dataclass(frozen=True)
class RollupExplanation:
    """How an indicator's value and level, and a competency's level, are computed."""

    indicator: str
    competency: str


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _method(settings: RollupSettings) -> str:
    weight = _percent(settings.decay_weight)
    rest = _percent(1 - settings.decay_weight)
    if settings.method == "highest":
        return _("the highest score of its evidence")
    if settings.method == "latest":
        return _("the latest score of its evidence")
    if settings.method == "average":
        return _("the average of all scores of its evidence")
    if settings.method == "n_mastery":
        return _(
            "the average of its scores at or above the mastery threshold, once there are "
            "%(count)s of them",
            count=settings.n_mastery,
        )
    if settings.method == "weighted_average":
        return _(
            "%(weight)s of the latest score plus %(rest)s of the average of the earlier ones",
            weight=weight,
            rest=rest,
        )
    return _("a decaying average of its scores (each new score counts %(weight)s)", weight=weight)


def _level_list(values: tuple[int, ...], names: dict[int, str], top: int) -> str:
    parts = []
    for level in range(1, top + 1):
        value = values[min(level, len(values)) - 1]
        parts.append(f"{names.get(level, str(level))} {value}")
    return _(", ").join(parts)


def _needed(values: tuple[int, ...], names: dict[int, str], top: int) -> str:
    # A level the list does not reach needs every indicator's points (plugin/rollup/engine.py).
    if not values:
        return _("the points of all of its indicators")
    parts = []
    for level in range(1, top + 1):
        name = names.get(level, str(level))
        if level <= len(values):
            parts.append(f"{name} {values[level - 1]}")
        else:
            parts.append(_("%(level)s: the points of all of its indicators", level=name))
    return _(", ").join(parts)


def explain_rollup(settings: RollupSettings, names: dict[int, str]) -> RollupExplanation:
    """The two sentences for the map, in the page's language."""
    indicator = _(
        "An indicator's value (a percentage) is %(method)s; the indicator reaches a module's "
        "level when its value over the evidence at that level is at least %(threshold)s.",
        method=_method(settings),
        threshold=_percent(settings.mastery_threshold),
    )
    if settings.competency_rule == "all":
        competency = _(
            "Rule in force: a competency reaches a level only when all of its indicators have "
            "reached it, so it moves last; the counts and the mean indicator level show the "
            "progress before it does."
        )
    else:
        top = max(names) if names else 3
        needed = _needed(settings.points_needed, names, top)
        competency = _(
            "Rule in force: points. An indicator earns points by its level (%(points)s); a "
            "competency reaches a level when its indicators at that level or above earn the "
            "points the level needs (%(needed)s).",
            points=_level_list(settings.points_per_level, names, top),
            needed=needed,
        )
        if settings.required_indicators:
            competency += " " + _(
                "These indicators must always be at the level: %(codes)s.",
                codes=_(", ").join(settings.required_indicators),
            )
    competency += " " + _(
        "Evidence tagged at the competency itself gives a level too; the higher one counts."
    )
    return RollupExplanation(indicator=indicator, competency=competency)
