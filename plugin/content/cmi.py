"""Server-side checks of the CMI values a SCO commits (SCORM 1.2 RTE §3.4, SCORM 2004 RTE §4).

scorm-again checks values in the browser, but the browser is the learner's: what the tool
stores is checked again here. A commit arrives flattened (``{"cmi.core.lesson_status":
"passed", "cmi.interactions.0.id": "q1", ...}``); :func:`read_commit` returns the values the
tool keeps, or raises :class:`CmiRefused` naming the first element that is wrong. Elements
the tool does not keep (read-only ones scorm-again echoes, learner preferences) are ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_ELEMENTS = 5000  # a flattened commit with more elements than this is not a SCO's
MAX_INDEX = 499  # interactions / objectives kept per SCO (both RTEs require at least 100)
MAX_FIELD_CHARS = 4000  # any interaction or objective field (2004 allows 4000 characters)

STATUS_12 = frozenset({"passed", "completed", "failed", "incomplete", "browsed", "not attempted"})
EXIT_12 = frozenset({"time-out", "suspend", "logout", ""})
COMPLETION_2004 = frozenset({"completed", "incomplete", "not attempted", "unknown"})
SUCCESS_2004 = frozenset({"passed", "failed", "unknown"})
EXIT_2004 = frozenset({"time-out", "suspend", "logout", "normal", ""})
INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "likert",
        "matching",
        "performance",
        "sequencing",
        "numeric",
        "other",
    }
)
# 1.2 CMITimespan HHHH:MM:SS.SS (RTE 1.2 §3.4.2); 2004 ISO 8601 duration (RTE 2004 §4.2.3.7).
TIMESPAN_12 = re.compile(r"^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$")
DURATION_2004 = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d{1,2})?S)?)?$"
)
ITEM = re.compile(r"^cmi\.(interactions|objectives)\.(\d+)\.(.+)$")


class CmiRefused(ValueError):
    """A committed value the data model does not allow; ``element`` names it."""

    def __init__(self, element: str, reason: str) -> None:
        super().__init__(f"{element}: {reason}")
        self.element = element
        self.reason = reason  # "vocabulary", "too_long", "number", "range", "time", "unknown"


@dataclass
class CmiValues:
    """What the tool keeps of one commit; None where the commit did not say."""

    lesson_status: str | None = None
    completion_status: str | None = None
    success_status: str | None = None
    score_raw: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    score_scaled: float | None = None
    location: str | None = None
    suspend_data: str | None = None
    exit: str | None = None
    session_time: str | None = None
    total_time: str | None = None
    interactions: list[dict[str, Any]] = field(default_factory=list)
    objectives: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """Where one SCORM version keeps each element, and its bounds."""

    status: dict[str, frozenset[str]]  # element -> vocabulary (and the CmiValues field)
    location: str
    location_chars: int
    suspend_chars: int
    exit: str
    exits: frozenset[str]
    score: str  # the prefix of raw/min/max(/scaled)
    session_time: str
    total_time: str
    time_pattern: re.Pattern[str]


RULES_12 = Rules(
    status={"cmi.core.lesson_status": STATUS_12},
    location="cmi.core.lesson_location",
    location_chars=255,
    suspend_chars=4096,
    exit="cmi.core.exit",
    exits=EXIT_12,
    score="cmi.core.score",
    session_time="cmi.core.session_time",
    total_time="cmi.core.total_time",
    time_pattern=TIMESPAN_12,
)
RULES_2004 = Rules(
    status={"cmi.completion_status": COMPLETION_2004, "cmi.success_status": SUCCESS_2004},
    location="cmi.location",
    location_chars=1000,
    suspend_chars=64000,
    exit="cmi.exit",
    exits=EXIT_2004,
    score="cmi.score",
    session_time="cmi.session_time",
    total_time="cmi.total_time",
    time_pattern=DURATION_2004,
)
STATUS_FIELDS = {
    "cmi.core.lesson_status": "lesson_status",
    "cmi.completion_status": "completion_status",
    "cmi.success_status": "success_status",
}


def rules_for(scorm_version: str) -> Rules:
    """The rules of a package version's standard ("1.2" or "2004-…")."""
    return RULES_12 if scorm_version == "1.2" else RULES_2004


def _text(element: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CmiRefused(element, "type")
    return value if isinstance(value, str) else str(value)


def _bounded(element: str, value: object, limit: int) -> str:
    text = _text(element, value)
    if len(text) > limit:
        raise CmiRefused(element, "too_long")
    return text


def _number(element: str, value: object, low: float, high: float) -> float | None:
    text = _text(element, value).strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise CmiRefused(element, "number") from None
    if not math.isfinite(number):
        raise CmiRefused(element, "number")
    if not low <= number <= high:
        raise CmiRefused(element, "range")
    return number


def _score(rules: Rules, element: str, value: object, values: CmiValues) -> None:
    part = element.rsplit(".", 1)[-1]
    if rules is RULES_12:
        # RTE 1.2 §3.4.2: CMIDecimal 0-100 for raw, min and max.
        number = _number(element, value, 0.0, 100.0)
    elif part == "scaled":
        number = _number(element, value, -1.0, 1.0)  # RTE 2004 §4.2.20.4
    else:
        number = _number(element, value, -math.inf, math.inf)
    setattr(values, f"score_{part}", number)


def _list_item(element: str, value: object, kind: str, index: int, rest: str) -> tuple[str, str]:
    if index > MAX_INDEX:
        raise CmiRefused(element, "range")
    text = _bounded(element, value, MAX_FIELD_CHARS)
    if kind == "interactions" and rest == "type" and text not in INTERACTION_TYPES:
        raise CmiRefused(element, "vocabulary")
    return rest, text


def read_commit(scorm_version: str, data: dict[str, Any]) -> CmiValues:
    """The values of a flattened commit that the tool keeps, each checked."""
    if len(data) > MAX_ELEMENTS:
        raise CmiRefused("cmi", "too_long")
    rules = rules_for(scorm_version)
    values = CmiValues()
    lists: dict[str, dict[int, dict[str, str]]] = {"interactions": {}, "objectives": {}}
    for element, value in data.items():
        if not isinstance(element, str) or len(element) > 255:
            raise CmiRefused(str(element)[:255], "unknown")
        if element in rules.status:
            text = _text(element, value)
            if text not in rules.status[element]:
                raise CmiRefused(element, "vocabulary")
            setattr(values, STATUS_FIELDS[element], text)
        elif element == rules.location:
            values.location = _bounded(element, value, rules.location_chars)
        elif element == "cmi.suspend_data":
            values.suspend_data = _bounded(element, value, rules.suspend_chars)
        elif element == rules.exit:
            text = _text(element, value)
            if text not in rules.exits:
                raise CmiRefused(element, "vocabulary")
            values.exit = text
        elif element.startswith(rules.score + ".") and element.rsplit(".", 1)[-1] in (
            ("raw", "min", "max") if rules is RULES_12 else ("raw", "min", "max", "scaled")
        ):
            _score(rules, element, value, values)
        elif element in (rules.session_time, rules.total_time):
            text = _text(element, value)
            if text and not rules.time_pattern.match(text):
                raise CmiRefused(element, "time")
            if element == rules.session_time:
                values.session_time = text
            else:
                values.total_time = text
        elif (match := ITEM.match(element)) is not None and value not in ({}, []):
            # An empty {} is an interaction's empty child list (objectives, correct_responses)
            # as scorm-again flattens it: nothing to keep, so it is passed over, not refused.
            kind, index = match.group(1), int(match.group(2))
            name, text = _list_item(element, value, kind, index, match.group(3))
            lists[kind].setdefault(index, {})[name] = text
    # Positional: entry n is cmi.interactions.n (empty when the commit did not carry it), so a
    # commit of only the changed interactions merges into what is stored (merge_indexed).
    values.interactions = _positional(lists["interactions"])
    values.objectives = _positional(lists["objectives"])
    return values


def _positional(found: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    return [found.get(index, {}) for index in range(max(found) + 1)] if found else []


def merge_indexed(stored: list[Any], committed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored interactions (or objectives) with a commit's merged in by index.

    A value once set stays the SCO's until it sets another, and a commit may carry only the
    elements that changed, so an index the commit does not carry keeps what is stored, and one
    it does carry gains or overwrites only the fields it names. An index whose ``id`` the commit
    changes now names another interaction: the commit's fields replace the stored ones.
    """
    merged = [dict(entry) if isinstance(entry, dict) else {} for entry in stored]
    for index, given in enumerate(committed):
        if not given:
            continue
        merged.extend({} for _ in range(index + 1 - len(merged)))
        before = merged[index]
        if "id" in given and before.get("id", given["id"]) != given["id"]:
            before = {}
        merged[index] = {**before, **given}
    return merged
