"""Scoring a module's knowledge check against its mastery score (cmi5 masteryScore)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plugin.competencies.models import CheckItem, Module
from plugin.core.errors import InvalidInput


@dataclass(frozen=True)
class ItemResult:
    """How one item was answered."""

    item: CheckItem
    chosen: frozenset[str]
    correct: bool

    @property
    def correct_keys(self) -> frozenset[str]:
        """The keys of the correct choices."""
        return frozenset(c["key"] for c in self.item.choices if c["correct"])


@dataclass(frozen=True)
class CheckResult:
    """The whole check: scaled score in [0, 1] and success against the mastery score."""

    items: list[ItemResult] = field(default_factory=list)
    scaled: float = 0.0
    raw: int = 0
    maximum: int = 0
    passed: bool | None = None

    @property
    def success(self) -> bool:
        """Passed, or completed when the module sets no mastery score."""
        return self.passed is not False


def grade_check(module: Module, answers: Mapping[int, frozenset[str]]) -> CheckResult:
    """Score answers (item id → chosen choice keys); an item scores only when exactly right.

    Every item must be answered, and only with its own choices: a partial or forged answer
    is refused naming the item, so a score always means a complete attempt.
    """
    if not module.check_items:
        raise InvalidInput("this module has no knowledge check", field="answers")
    results = []
    for index, item in enumerate(module.check_items, start=1):
        chosen = answers.get(item.id, frozenset())
        keys = {choice["key"] for choice in item.choices}
        if not chosen:
            raise InvalidInput(f"question {index} is not answered", field=f"item_{item.id}")
        if not chosen <= keys or (len(chosen) > 1 and not item.multiple):
            raise InvalidInput(f"question {index} has an invalid answer", field=f"item_{item.id}")
        correct_keys = {choice["key"] for choice in item.choices if choice["correct"]}
        results.append(ItemResult(item=item, chosen=chosen, correct=chosen == correct_keys))
    raw = sum(1 for result in results if result.correct)
    scaled = raw / len(results)
    passed = None if module.mastery_score is None else scaled >= module.mastery_score
    return CheckResult(items=results, scaled=scaled, raw=raw, maximum=len(results), passed=passed)
