"""The interactions a SCORM attempt's SCOs reported, in xAPI's terms (xAPI 1.0.3 §2.4.4.1,
"Interaction Activities"; ADL's xAPI SCORM profile maps cmi.interactions onto them).

SCORM 2004 already writes patterns and responses in the delimiters xAPI took from it (``[,]``
between items, ``[.]`` between a matching pair's parts, ``[:]`` for a numeric range). SCORM 1.2
wrote them its own way (RTE 1.2 §3.4.2.6: ``a,b`` or ``{a,b}``, ``1.a,2.b``, ``t``/``f``),
converted here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plugin.content.runtime_models import ScoState

# xAPI 1.0.3 §2.4.4.1's interactionType vocabulary is SCORM 2004's cmi.interactions.n.type.
XAPI_TYPES = frozenset(
    {"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
     "sequencing", "likert", "numeric", "other"}
)  # fmt: skip
CORRECT = frozenset({"correct"})
WRONG = frozenset({"wrong", "incorrect"})  # 1.2 "wrong", 2004 "incorrect"
PATTERN_KEY = re.compile(r"^correct_responses\.(\d+)\.pattern$")


@dataclass(frozen=True)
class ReportedInteraction:
    """One interaction of one SCO as xAPI states it."""

    sco: str  # the item identifier of the SCO
    identifier: str  # cmi.interactions.n.id
    interaction_type: str  # xAPI interactionType; "other" when the SCO gave none
    correct_patterns: tuple[str, ...]
    response: str | None  # None when the SCO reported no learner response
    success: bool | None  # None for unanticipated, neutral or a numeric result


def _convert_12(kind: str, value: str) -> str:
    """A SCORM 1.2 pattern or response in xAPI's delimiters."""
    text = value.strip()
    if kind == "true-false":
        return {"t": "true", "1": "true", "f": "false", "0": "false"}.get(text.lower(), text)
    if kind in ("choice", "sequencing", "likert"):
        text = text.removeprefix("{").removesuffix("}")
        return "[,]".join(part.strip() for part in text.split(",") if part.strip())
    if kind == "matching":
        text = text.removeprefix("{").removesuffix("}")
        pairs = [part.strip().split(".", 1) for part in text.split(",") if part.strip()]
        return "[,]".join("[.]".join(part.strip() for part in pair) for pair in pairs)
    return text


def _one(scorm_version: str, sco: str, values: dict[str, Any]) -> ReportedInteraction | None:
    identifier = str(values.get("id", "")).strip()
    if not identifier:
        return None  # nothing to name the activity by
    kind = str(values.get("type", "")).strip()
    kind = kind if kind in XAPI_TYPES else "other"
    convert = (lambda v: _convert_12(kind, v)) if scorm_version == "1.2" else (lambda v: v)
    indexed = sorted(
        (int(match.group(1)), str(value))
        for key, value in values.items()
        if (match := PATTERN_KEY.match(key)) is not None
    )
    response_key = "student_response" if scorm_version == "1.2" else "learner_response"
    response = values.get(response_key)
    result = str(values.get("result", "")).strip()
    return ReportedInteraction(
        sco=sco,
        identifier=identifier,
        interaction_type=kind,
        correct_patterns=tuple(convert(pattern) for _index, pattern in indexed),
        response=convert(str(response)) if response is not None else None,
        success=True if result in CORRECT else False if result in WRONG else None,
    )


def reported_interactions(
    scorm_version: str, order: Sequence[str], states: Sequence[ScoState]
) -> list[ReportedInteraction]:
    """Every interaction the SCOs reported, SCO by SCO in ``order`` (the organization's), each
    in the order the SCO numbered them; one without an id is left out."""
    rank = {identifier: index for index, identifier in enumerate(order)}
    found: list[ReportedInteraction] = []
    for state in sorted(states, key=lambda s: (rank.get(s.item_identifier, len(rank)), s.id)):
        for values in state.interactions or []:
            if isinstance(values, dict):
                reported = _one(scorm_version, state.item_identifier, values)
                if reported is not None:
                    found.append(reported)
    return found
