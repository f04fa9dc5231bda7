"""Which framework items a SCORM attempt's interactions give evidence for, and how much.

An interaction names the objectives it bears on (``cmi.interactions.n.objectives.m.id``, RTE
1.2 §3.4.2.6, RTE 2004 §4.2.9). When such an id names an item the module teaches — an item it
is tagged with, or an indicator under a competency it is tagged with — the interaction is
evidence for that item only, scored by its result: ``correct`` 1, ``wrong`` / ``incorrect`` 0,
a numeric result in [0, 1] as it is (neither RTE fixes a numeric range, so one outside it says
nothing we can scale). ``unanticipated``, ``neutral`` and an objective id that names no such
item are ignored. Several interactions for one item make one observation: the mean of their
scores (the share answered correctly). docs/ARCHITECTURE.md §6 describes the evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plugin.competencies.case import case_uuid
from plugin.competencies.framework import item_iri
from plugin.competencies.models import Framework, Item, Module
from plugin.content.runtime_models import ScoState

OBJECTIVE_ID = re.compile(r"^objectives\.\d+\.id$")
RESULT_SCORES = {"correct": 1.0, "wrong": 0.0, "incorrect": 0.0}  # 1.2 "wrong", 2004 "incorrect"


@dataclass(frozen=True)
class Target:
    """An item an objective id may name: its code and the level the module teaches it at."""

    code: str
    level: int


def _names(iri_base: str, framework: Framework, item: Item) -> list[str]:
    """What an objective id may say for ``item``: its code (in any case), its IRI, the CASE
    identifier of that IRI (bare or as a ``urn:uuid:``)."""
    iri = item_iri(iri_base, framework.key, item.code)
    identifier = case_uuid(iri)
    return [item.code.casefold(), iri, identifier, f"urn:uuid:{identifier}"]


def objective_targets(module: Module, framework: Framework, iri_base: str) -> dict[str, Target]:
    """Every name an objective id may use for an item the module teaches, with the item.

    A tag on an item covers the item and, for a competency, its indicators at the same level;
    an indicator's own tag outranks its competency's."""
    own: dict[str, tuple[Item, int]] = {}
    inherited: dict[str, tuple[Item, int]] = {}
    for tag in module.active_tags:
        if tag.item.framework_id != framework.id:
            continue
        own[tag.item.code] = (tag.item, tag.level)
        for child in tag.item.children:
            inherited[child.code] = (child, tag.level)
    targets: dict[str, Target] = {}
    for item, level in {**inherited, **own}.values():
        for name in _names(iri_base, framework, item):
            targets[name] = Target(item.code, level)
    return targets


def result_score(result: object) -> float | None:
    """An interaction's result on [0, 1], or None when it says nothing to score."""
    text = str(result or "").strip()
    if text in RESULT_SCORES:
        return RESULT_SCORES[text]
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def _named(values: Mapping[str, object], targets: Mapping[str, Target]) -> set[str]:
    """The item codes an interaction's objective ids name (each once)."""
    codes = set()
    for key, value in values.items():
        if OBJECTIVE_ID.match(key):
            name = str(value).strip()
            target = targets.get(name) or targets.get(name.casefold())
            if target is not None:
                codes.add(target.code)
    return codes


def objective_scores(states: Sequence[ScoState], targets: Mapping[str, Target]) -> dict[str, float]:
    """Each named item's score from the attempt's interactions: the mean of the results of
    the interactions naming it; items no scored interaction names are left out."""
    found: dict[str, list[float]] = {}
    for state in sorted(states, key=lambda s: s.id):
        for values in state.interactions or []:
            if not isinstance(values, dict):
                continue
            score = result_score(values.get("result"))
            if score is None:
                continue
            for code in sorted(_named(values, targets)):
                found.setdefault(code, []).append(score)
    return {code: sum(scores) / len(scores) for code, scores in found.items()}
