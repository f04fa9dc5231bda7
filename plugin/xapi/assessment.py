"""Statements of the roll-up (docs/ARCHITECTURE.md §5): attainment as TLA ``assessed``, and
evidence that came from elsewhere (an import, another provider's statement) restated in our LRS.

Plain values in, statement dicts out, validated by the caller through the outbox. The roll-up
package is not imported here (layering: rollup and xapi do not import each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.xapi.statements import format_timestamp
from plugin.xapi.vocabulary import COMPETENCY_TYPE, COURSE_TYPE, PROFILE_TYPE, VERBS, profile_iri

# ADL Total Learning Architecture: the verb a competency assertion uses and the context
# extension that lists the statements the assertion rests on.
ASSESSED_VERB = "https://w3id.org/xapi/tla/verbs/assessed"
EVIDENCE_EXTENSION = "https://w3id.org/xapi/tla/extensions/evidence"
IMPORT_AUTHORITY = "evidence-import"
PULL_AUTHORITY = "evidence-pull"


def level_extension(iri_base: str) -> str:
    """The result extension whose value is the attained level's IRI."""
    return f"{iri_base}extensions/level"


def level_iri(iri_base: str, framework_key: str, level: int) -> str:
    """The IRI of a level of the report scale: ``{iri_base}{framework}/levels/report/{n}``."""
    return f"{iri_base}{framework_key}/levels/report/{level}"


@dataclass(frozen=True)
class CompetencyRef:
    """A framework item as statements name it."""

    iri: str
    name_zh: str = ""
    name_en: str = ""


def _names(zh: str, en: str) -> dict[str, str]:
    names = {}
    if zh:
        names["zh-TW"] = zh
    if en:
        names["en"] = en
    return names


def _activity(ref: CompetencyRef, kind: str = COMPETENCY_TYPE) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind}
    names = _names(ref.name_zh, ref.name_en)
    if names:
        definition["name"] = names
    return {"objectType": "Activity", "id": ref.iri, "definition": definition}


def _actor(issuer: str, sub: str) -> dict[str, Any]:
    # One IFI only, the account (xAPI 1.0.3 §2.4.2.1), as every statement of the tool.
    return {"objectType": "Agent", "account": {"homePage": issuer, "name": sub}}


def _category(iri_base: str) -> list[dict[str, Any]]:
    # The profile in category marks the tool's own statements, so `evidence pull` skips them.
    return [{"objectType": "Activity", "id": profile_iri(iri_base),
             "definition": {"type": PROFILE_TYPE}}]  # fmt: skip


def authority(base_url: str, name: str) -> dict[str, Any]:
    """The tool as the authority of statements it restates (xAPI 1.0.3 §2.4.9)."""
    return {"objectType": "Agent", "account": {"homePage": base_url, "name": name}}


def assessed_statement(
    *,
    statement_id: str,
    issuer: str,
    sub: str,
    competency: CompetencyRef,
    level: int,
    value: float | None,
    framework_key: str,
    iri_base: str,
    evidence: Sequence[str],
    moment: datetime,
) -> dict[str, Any]:
    """TLA ``assessed``: the learner holds ``competency`` at ``level``, from ``evidence``."""
    result: dict[str, Any] = {"success": level >= 1}
    if value is not None:
        result["score"] = {"scaled": round(min(max(value, 0.0), 1.0), 4)}
    if level >= 1:
        # Level 0 (nothing attained) has no level on the scale, so no IRI is sent for it.
        result["extensions"] = {
            level_extension(iri_base): level_iri(iri_base, framework_key, level)
        }
    context: dict[str, Any] = {"contextActivities": {"category": _category(iri_base)}}
    if evidence:
        context["extensions"] = {EVIDENCE_EXTENSION: list(evidence)}
    return {
        "id": statement_id,
        "actor": _actor(issuer, sub),
        "verb": {"id": ASSESSED_VERB, "display": {"en-US": "assessed", "zh-TW": "評定"}},
        "object": _activity(competency),
        "result": result,
        "context": context,
        "timestamp": format_timestamp(moment),
    }


def evidence_statement(
    *,
    statement_id: str,
    issuer: str,
    sub: str,
    object_iri: str,
    object_name: str,
    items: Sequence[CompetencyRef],
    score: float,
    success: bool | None,
    iri_base: str,
    moment: datetime,
    authority_agent: dict[str, Any],
    level: str = "",
    object_type: str = COURSE_TYPE,
) -> dict[str, Any]:
    """An imported or pulled observation restated in our LRS, with the tool as authority."""
    verb = "completed" if success is None else ("passed" if success else "failed")
    iri, english, chinese = VERBS[verb]
    result: dict[str, Any] = {"score": {"scaled": round(score, 4)}}
    if success is None:
        result["completion"] = True
    else:
        result["success"] = success
    context: dict[str, Any] = {
        "contextActivities": {
            "category": _category(iri_base),
            "other": [_activity(item) for item in items],
        }
    }
    if level:
        context["extensions"] = {level_extension(iri_base): level}
    activity: dict[str, Any] = {
        "objectType": "Activity",
        "id": object_iri,
        "definition": {"type": object_type},
    }
    if object_name:
        activity["definition"]["name"] = {"zh-TW": object_name}
    return {
        "id": statement_id,
        "actor": _actor(issuer, sub),
        "verb": {"id": iri, "display": {"en-US": english, "zh-TW": chinese}},
        "object": activity,
        "result": result,
        "context": context,
        "timestamp": format_timestamp(moment),
        "authority": authority_agent,
    }
