"""Open Badges 3.0 credentials (OpenBadgeCredential) for a learner's attained competencies.

One credential per competency at level 1 or above, unsigned (a proof is a later step):

- ``issuer``: the tool's Profile (``lti.base_url``, named ``lti.title``);
- ``credentialSubject.identifier``: an IdentityObject whose ``identityHash`` is
  ``sha256$`` + SHA-256 of ``"{issuer}|{sub}" + salt`` (the learner's first platform identity),
  ``hashed: true``; the salt is derived from the secret key and the learner, so the same data
  gives the same credential. A name is added only when ``send_names`` is on and one is given;
- ``achievement``: the competency, ``achievementType`` ``Competency``, aligned (``CFItem``) to
  the competency's IRI, which is also its CASE item ``uri``; its ``resultDescription`` is the
  report scale as a rubric, and ``result.achievedLevel`` is the attained level's IRI.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.framework import item_iri
from plugin.competencies.models import Framework, Item, Level, Scale
from plugin.rollup.learners import identities_of
from plugin.rollup.models import Attainment, Learner

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
REPORT_SCALE = "report"
LANGUAGE = "zh-TW"
# Credential ids: uuid5 names in this namespace, so a re-download gives the same id.
BADGE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/tw-civil-service-dc/badges")


def level_iri(iri_base: str, framework_key: str, level: int) -> str:
    """The IRI of a report-scale level (the same as the ``assessed`` statements carry)."""
    return f"{iri_base}{framework_key}/levels/report/{level}"


def recipient_salt(secret: str, learner: Learner) -> str:
    """The learner's salt: stable for one deployment, not guessable without its secret."""
    digest = hmac.new(secret.encode("utf-8"), f"badge-salt|{learner.id}".encode(), "sha256")
    return digest.hexdigest()[:32]


def identity_hash(issuer: str, sub: str, salt: str) -> str:
    """``sha256$`` + the hex SHA-256 of ``"{issuer}|{sub}"`` followed by the salt."""
    return "sha256$" + hashlib.sha256(f"{issuer}|{sub}{salt}".encode()).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _levels(session: Session, framework: Framework) -> list[Level]:
    return list(
        session.scalars(
            select(Level)
            .join(Scale, Level.scale_id == Scale.id)
            .where(Scale.framework_id == framework.id, Scale.key == REPORT_SCALE)
            .order_by(Level.number)
        )
    )


def learner_credentials(
    session: Session,
    learner: Learner,
    framework: Framework,
    *,
    iri_base: str,
    issuer_url: str,
    issuer_name: str,
    secret: str,
    send_names: bool = False,
    recipient_name: str = "",
) -> list[dict[str, Any]]:
    """One OpenBadgeCredential per competency the learner attained (level ≥ 1), framework order."""
    identities = identities_of(learner)
    if not identities:
        return []
    items = {
        item.code: item
        for item in session.scalars(
            select(Item).where(Item.framework_id == framework.id, Item.kind == "competency")
        )
    }
    rows = session.scalars(
        select(Attainment).where(
            Attainment.learner_id == learner.id,
            Attainment.kind == "competency",
            Attainment.level >= 1,
        )
    )
    attained = sorted(
        (row for row in rows if row.item_id in items),
        key=lambda row: (items[row.item_id].position, row.item_id),
    )
    levels = _levels(session, framework)
    salt = recipient_salt(secret, learner)
    identity = identities[0]
    subject_ids: list[dict[str, Any]] = [
        {
            "type": "IdentityObject",
            "identityHash": identity_hash(identity.issuer, identity.sub, salt),
            "identityType": "identifier",
            "hashed": True,
            "salt": salt,
        }
    ]
    if send_names and recipient_name:
        subject_ids.append(
            {
                "type": "IdentityObject",
                "identityHash": recipient_name,
                "identityType": "name",
                "hashed": False,
            }
        )
    issuer = {"id": issuer_url, "type": ["Profile"], "name": issuer_name, "url": issuer_url}
    return [
        _credential(
            items[row.item_id], row, framework, levels, iri_base, issuer, subject_ids, learner
        )
        for row in attained
    ]


def _credential(
    item: Item,
    row: Attainment,
    framework: Framework,
    levels: list[Level],
    iri_base: str,
    issuer: dict[str, Any],
    subject_ids: list[dict[str, Any]],
    learner: Learner,
) -> dict[str, Any]:
    iri = item_iri(iri_base, framework.key, item.code)
    achievement_id = f"{iri}/achievement"
    description_id = f"{achievement_id}/levels"
    names = {level.number: level.name_zh for level in levels}
    level_name = names.get(row.level, str(row.level))
    credential_id = uuid.uuid5(
        BADGE_NAMESPACE, f"{issuer['id']}|{learner.id}|{framework.key}|{item.code}|{row.level}"
    )
    return {
        "@context": list(CONTEXT),
        "id": f"urn:uuid:{credential_id}",
        "type": list(CREDENTIAL_TYPE),
        "name": f"{item.name_zh}（{level_name}）",
        "issuer": issuer,
        "validFrom": _timestamp(row.updated_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": subject_ids,
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": item.name_zh,
                "description": item.description_zh or item.name_zh,
                "humanCode": item.code,
                "inLanguage": LANGUAGE,
                "criteria": {
                    "narrative": (
                        f"依證據彙整達到「{item.name_zh}」之職能等級 (level {row.level}); "
                        f"{item.name_en}: attained from the learner's evidence by the "
                        "tool's published roll-up rule."
                    )
                },
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": item.name_zh,
                        "targetDescription": item.name_en,
                        "targetUrl": iri,
                        "targetCode": item.code,
                        "targetFramework": framework.title_zh,
                        "targetType": "CFItem",
                    }
                ],
                "resultDescription": [
                    {
                        "id": description_id,
                        "type": ["ResultDescription"],
                        "name": "職能等級 Proficiency level",
                        "resultType": "RubricCriterionLevel",
                        "requiredLevel": level_iri(iri_base, framework.key, 1),
                        "rubricCriterionLevel": [
                            {
                                "id": level_iri(iri_base, framework.key, level.number),
                                "type": ["RubricCriterionLevel"],
                                "name": level.name_zh,
                                "description": level.name_en,
                                "level": str(level.number),
                            }
                            for level in levels
                        ],
                    }
                ],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": description_id,
                    "achievedLevel": level_iri(iri_base, framework.key, row.level),
                }
            ],
        },
    }
