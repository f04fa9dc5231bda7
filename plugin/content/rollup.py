"""A finished SCORM attempt's result for the module: every SCO counted, the package's mastery
score applied.

The tool honours no SCORM 2004 sequencing rules beyond this roll-up: the module is completed
when every SCO has ended (plugin/content/runtime.py), its scaled score is the mean of the SCOs'
scaled scores, and it is passed or failed by the package's mastery score when the package
states one, else by the SCOs' own success (any failed fails, all passed passes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plugin.content.runtime_models import ScoState


@dataclass(frozen=True)
class ModuleOutcome:
    """What a finished attempt says about the module."""

    scaled: float | None  # 0..1, None when no SCO reported a score
    passed: bool | None  # None: completed without a judgement


def sco_scaled(scorm_version: str, state: ScoState) -> float | None:
    """One SCO's score on 0..1: 2004's scaled score, else raw over max (1.2: over 100)."""
    if scorm_version != "1.2" and state.score_scaled is not None:
        return max(0.0, min(1.0, state.score_scaled))
    if state.score_raw is None:
        return None
    low = state.score_min or 0.0
    high = state.score_max if state.score_max not in (None, 0.0) else 100.0
    if high is None or high <= low:
        return None
    return max(0.0, min(1.0, (state.score_raw - low) / (high - low)))


def _success(scorm_version: str, state: ScoState) -> str:
    return state.lesson_status if scorm_version == "1.2" else state.success_status


def module_outcome(
    scorm_version: str, mastery_score: float | None, states: Sequence[ScoState]
) -> ModuleOutcome:
    """The roll-up of every SCO's committed data to the module."""
    scores = [s for s in (sco_scaled(scorm_version, state) for state in states) if s is not None]
    scaled = sum(scores) / len(scores) if scores else None
    if mastery_score is not None and scaled is not None:
        return ModuleOutcome(scaled, scaled >= mastery_score)
    successes = [_success(scorm_version, state) for state in states]
    if "failed" in successes:
        return ModuleOutcome(scaled, False)
    if successes and all(success == "passed" for success in successes):
        return ModuleOutcome(scaled, True)
    return ModuleOutcome(scaled, None)
